"""Tariffs: OCPI 2.2.1 documents with an immutable version history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from evbilling.models.base import Base, BigId


class Tariff(Base):
    """An OCPI 2.2.1 Tariff, versioned: `ocpi_json` is the current version's document, exactly
    as written by `dumps_ocpi`; every version (1 included) is also kept in `tariff_versions`."""

    __tablename__ = "tariffs"
    # A unique index rather than a constraint: SQLite can add one without rebuilding the table.
    __table_args__ = (
        Index("uq_tariffs_operator_id_ocpi_id", "operator_id", "ocpi_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # The OCPI tariff id (unique per operator); str(id) unless the document named one.
    ocpi_id: Mapped[str] = mapped_column(String(36))
    # Always the OCPI document's currency; it never changes between versions.
    currency: Mapped[str] = mapped_column(String(3))
    ocpi_json: Mapped[str] = mapped_column(Text)
    # The operator default: priced when no driver, group, EVSE, station or location tariff is set.
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class TariffVersion(Base):
    """Immutable history: one row per version of a tariff, the first one included."""

    __tablename__ = "tariff_versions"
    __table_args__ = (UniqueConstraint("tariff_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    ocpi_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
