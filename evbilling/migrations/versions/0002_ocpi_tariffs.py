"""OCPI 2.2.1 tariffs: versioned documents, driver groups, session tariff copies

Revision ID: 0002
Revises: 0001

- tariffs: energy_price_per_kwh / session_fee / vat_percent become an OCPI 2.2.1 Tariff
  document (`ocpi_json`) with an OCPI id (`ocpi_id`, unique per operator, str(id) for
  converted rows); every version is kept in the new `tariff_versions` table.
- charging_sessions: `tariff_snapshot` (JSON terms) becomes `tariff_ocpi` (the exact OCPI
  document the session is priced with); new `tariff_version`, `time_zone`, `cdr`.
- driver_groups (fleets) with an optional tariff; drivers.group_id.
- stations.pricing_display.

Converting a flat tariff (price per kWh, session fee, VAT %) gives one element with an ENERGY
component (price = price per kWh, step_size 1 Wh, vat = VAT %) and, when the fee is not zero,
a FLAT component (price = fee, step_size 1, same vat). OCPI requires a country code and a
party id; evbilling has none for an operator yet, so converted documents carry the
placeholders "XX" (ISO 3166 user-assigned code) and "EVB" -- the same ones the services fill
in when a caller leaves them out. Converted tariffs keep their version number (their one
history row gets it; older versions were never stored); `last_updated` is the row's
`updated_at`. Converted sessions get `tariff_version` NULL (the old snapshot did not record
it), `time_zone` from their station's location, and no `last_updated` in the document.

SQLite: no table that others reference is rebuilt (a batch "move and copy" drops the old
table, which with foreign keys on fires ON DELETE SET NULL / CASCADE in every referencing
table). Columns are added and dropped with plain ALTER TABLE, which needs SQLite >= 3.35.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

import evbilling.infra.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLACEHOLDER_COUNTRY_CODE = "XX"
PLACEHOLDER_PARTY_ID = "EVB"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _dumps(value: Any) -> str:
    """JSON with exact decimals, in the layout of evbilling.tariffs.domain.dumps_ocpi."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        return "0" if text in ("-0", "0") else text
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_dumps(item) for item in value) + "]"
    return json.dumps(value)


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _format_datetime(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0") + "Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ocpi_document(
    *,
    ocpi_id: str,
    currency: str,
    energy_price_per_kwh: Any,
    session_fee: Any,
    vat_percent: Any,
    last_updated: datetime | None,
) -> str:
    vat = _decimal(vat_percent)
    components: list[dict[str, Any]] = [
        {"type": "ENERGY", "price": _decimal(energy_price_per_kwh), "vat": vat, "step_size": 1}
    ]
    fee = _decimal(session_fee)
    if fee != 0:
        components.append({"type": "FLAT", "price": fee, "vat": vat, "step_size": 1})
    document: dict[str, Any] = {
        "country_code": PLACEHOLDER_COUNTRY_CODE,
        "party_id": PLACEHOLDER_PARTY_ID,
        "id": ocpi_id,
        "currency": currency,
        "elements": [{"price_components": components}],
    }
    if last_updated is not None:
        document["last_updated"] = _format_datetime(last_updated)
    return _dumps(document)


def _flat_terms(document: str) -> tuple[str, Decimal, Decimal, Decimal]:
    """(currency, price per kWh, session fee, VAT %) from an OCPI document, for downgrade:
    the first ENERGY and FLAT components; anything else an old row cannot express is lost."""
    data = json.loads(document, parse_float=Decimal)
    energy = fee = vat = Decimal(0)
    found_energy = found_flat = False
    for element in data.get("elements") or ():
        for component in element.get("price_components") or ():
            kind = component.get("type")
            if kind == "ENERGY" and not found_energy:
                found_energy = True
                energy = Decimal(component["price"])
                vat = Decimal(component.get("vat") or 0)
            elif kind == "FLAT" and not found_flat:
                found_flat = True
                fee = Decimal(component["price"])
    return str(data.get("currency", "EUR")), energy, fee, vat


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _drop_column(table: str, column: str) -> None:
    if _sqlite():
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    else:
        op.drop_column(table, column)


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)

    op.create_table(
        "driver_groups",
        sa.Column("id", BigId, nullable=False),
        sa.Column("operator_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("tariff_id", BigId, nullable=True),
        sa.Column("created_at", evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_driver_groups_operator_id_operators")
        ),
        sa.ForeignKeyConstraint(
            ["tariff_id"],
            ["tariffs.id"],
            name=op.f("fk_driver_groups_tariff_id_tariffs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_driver_groups")),
    )
    op.create_index(
        op.f("ix_driver_groups_operator_id"), "driver_groups", ["operator_id"], unique=False
    )
    op.create_table(
        "tariff_versions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tariff_id", BigId, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("ocpi_json", sa.Text(), nullable=False),
        sa.Column("created_at", evbilling.infra.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tariff_id"],
            ["tariffs.id"],
            name=op.f("fk_tariff_versions_tariff_id_tariffs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariff_versions")),
        sa.UniqueConstraint(
            "tariff_id", "version", name=op.f("uq_tariff_versions_tariff_id_version")
        ),
    )

    # drivers.group_id: SQLite adds a column with its REFERENCES clause in place.
    if _sqlite():
        op.execute(
            "ALTER TABLE drivers ADD COLUMN group_id INTEGER "
            "CONSTRAINT fk_drivers_group_id_driver_groups "
            "REFERENCES driver_groups (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("drivers", sa.Column("group_id", BigId, nullable=True))
        op.create_foreign_key(
            op.f("fk_drivers_group_id_driver_groups"),
            "drivers",
            "driver_groups",
            ["group_id"],
            ["id"],
            ondelete="SET NULL",
        )

    op.add_column(
        "stations",
        sa.Column("pricing_display", sa.Boolean(), server_default=sa.false(), nullable=False),
    )

    # tariffs: add the OCPI columns (NOT NULL through a temporary default), fill, drop the old.
    op.add_column(
        "tariffs", sa.Column("ocpi_id", sa.String(length=36), server_default="", nullable=False)
    )
    op.add_column("tariffs", sa.Column("ocpi_json", sa.Text(), server_default="", nullable=False))
    tariffs = sa.table(
        "tariffs",
        sa.column("id", BigId),
        sa.column("currency", sa.String()),
        sa.column("energy_price_per_kwh", evbilling.infra.db.types.ExactDecimal()),
        sa.column("session_fee", evbilling.infra.db.types.ExactDecimal()),
        sa.column("vat_percent", evbilling.infra.db.types.ExactDecimal()),
        sa.column("version", sa.Integer()),
        sa.column("updated_at", evbilling.infra.db.types.UTCDateTime()),
        sa.column("ocpi_id", sa.String()),
        sa.column("ocpi_json", sa.Text()),
    )
    versions = sa.table(
        "tariff_versions",
        sa.column("tariff_id", BigId),
        sa.column("version", sa.Integer()),
        sa.column("ocpi_json", sa.Text()),
        sa.column("created_at", evbilling.infra.db.types.UTCDateTime()),
    )
    rows = bind.execute(
        sa.select(
            tariffs.c.id,
            tariffs.c.currency,
            tariffs.c.energy_price_per_kwh,
            tariffs.c.session_fee,
            tariffs.c.vat_percent,
            tariffs.c.version,
            tariffs.c.updated_at,
        )
    ).all()
    for row in rows:
        document = _ocpi_document(
            ocpi_id=str(row.id),
            currency=row.currency,
            energy_price_per_kwh=row.energy_price_per_kwh,
            session_fee=row.session_fee,
            vat_percent=row.vat_percent,
            last_updated=row.updated_at,
        )
        bind.execute(
            tariffs.update()
            .where(tariffs.c.id == row.id)
            .values(ocpi_id=str(row.id), ocpi_json=document)
        )
        bind.execute(
            versions.insert().values(
                tariff_id=row.id,
                version=row.version,
                ocpi_json=document,
                created_at=row.updated_at or now,
            )
        )
    if not _sqlite():  # SQLite cannot drop a default without rebuilding the table
        op.alter_column("tariffs", "ocpi_id", server_default=None)
        op.alter_column("tariffs", "ocpi_json", server_default=None)
    op.create_index(
        "uq_tariffs_operator_id_ocpi_id", "tariffs", ["operator_id", "ocpi_id"], unique=True
    )
    for column in ("energy_price_per_kwh", "session_fee", "vat_percent"):
        _drop_column("tariffs", column)

    # charging_sessions: the copied terms become the copied OCPI document.
    op.add_column("charging_sessions", sa.Column("tariff_version", sa.Integer(), nullable=True))
    op.add_column("charging_sessions", sa.Column("tariff_ocpi", sa.Text(), nullable=True))
    op.add_column("charging_sessions", sa.Column("time_zone", sa.String(length=64), nullable=True))
    op.add_column("charging_sessions", sa.Column("cdr", sa.Text(), nullable=True))
    sessions = sa.table(
        "charging_sessions",
        sa.column("id", BigId),
        sa.column("station_id", BigId),
        sa.column("tariff_snapshot", sa.JSON()),
        sa.column("tariff_ocpi", sa.Text()),
        sa.column("time_zone", sa.String()),
    )
    snapshots = bind.execute(
        sa.select(sessions.c.id, sessions.c.tariff_snapshot).where(
            sessions.c.tariff_snapshot.is_not(None)
        )
    ).all()
    for session_id, snapshot in snapshots:
        if isinstance(snapshot, str):  # a driver that hands JSON back as text
            snapshot = json.loads(snapshot)
        if not isinstance(snapshot, Mapping):
            continue  # JSON null
        document = _ocpi_document(
            ocpi_id=str(snapshot.get("tariff_id", "")) or "unknown",
            currency=str(snapshot["currency"]),
            energy_price_per_kwh=snapshot["energy_price_per_kwh"],
            session_fee=snapshot.get("session_fee", "0"),
            vat_percent=snapshot.get("vat_percent", "0"),
            last_updated=None,
        )
        bind.execute(
            sessions.update().where(sessions.c.id == session_id).values(tariff_ocpi=document)
        )
    stations = sa.table("stations", sa.column("id", BigId), sa.column("location_id", BigId))
    locations = sa.table("locations", sa.column("id", BigId), sa.column("time_zone", sa.String()))
    bind.execute(
        sessions.update().values(
            time_zone=sa.select(locations.c.time_zone)
            .select_from(stations.join(locations, locations.c.id == stations.c.location_id))
            .where(stations.c.id == sessions.c.station_id)
            .scalar_subquery()
        )
    )
    _drop_column("charging_sessions", "tariff_snapshot")


def downgrade() -> None:
    """Back to 0001. Lossy: a tariff keeps its first ENERGY and FLAT prices only, history,
    groups, CDRs and display flags are dropped."""
    bind = op.get_bind()

    # charging_sessions
    op.add_column("charging_sessions", sa.Column("tariff_snapshot", sa.JSON(), nullable=True))
    sessions = sa.table(
        "charging_sessions",
        sa.column("id", BigId),
        sa.column("tariff_id", BigId),
        sa.column("tariff_ocpi", sa.Text()),
        sa.column("tariff_snapshot", sa.JSON()),
    )
    tariffs = sa.table(
        "tariffs",
        sa.column("id", BigId),
        sa.column("name", sa.String()),
        sa.column("ocpi_json", sa.Text()),
        sa.column("energy_price_per_kwh", evbilling.infra.db.types.ExactDecimal()),
        sa.column("session_fee", evbilling.infra.db.types.ExactDecimal()),
        sa.column("vat_percent", evbilling.infra.db.types.ExactDecimal()),
    )
    names = dict(bind.execute(sa.select(tariffs.c.id, tariffs.c.name)).all())
    for session_id, tariff_id, document in bind.execute(
        sa.select(sessions.c.id, sessions.c.tariff_id, sessions.c.tariff_ocpi).where(
            sessions.c.tariff_ocpi.is_not(None)
        )
    ).all():
        currency, energy, fee, vat = _flat_terms(document)
        snapshot = {
            "tariff_id": tariff_id,
            "name": names.get(tariff_id, ""),
            "currency": currency,
            "energy_price_per_kwh": str(energy),
            "session_fee": str(fee),
            "vat_percent": str(vat),
        }
        bind.execute(
            sessions.update().where(sessions.c.id == session_id).values(tariff_snapshot=snapshot)
        )
    for column in ("cdr", "time_zone", "tariff_ocpi", "tariff_version"):
        _drop_column("charging_sessions", column)

    # tariffs
    for column in ("energy_price_per_kwh", "session_fee", "vat_percent"):
        op.add_column(
            "tariffs",
            sa.Column(
                column, evbilling.infra.db.types.ExactDecimal(), server_default="0", nullable=False
            ),
        )
    for tariff_id, document in bind.execute(sa.select(tariffs.c.id, tariffs.c.ocpi_json)).all():
        _, energy, fee, vat = _flat_terms(document)
        bind.execute(
            tariffs.update()
            .where(tariffs.c.id == tariff_id)
            .values(energy_price_per_kwh=energy, session_fee=fee, vat_percent=vat)
        )
    if not _sqlite():
        for column in ("energy_price_per_kwh", "session_fee", "vat_percent"):
            op.alter_column("tariffs", column, server_default=None)
    op.drop_index("uq_tariffs_operator_id_ocpi_id", table_name="tariffs")
    _drop_column("tariffs", "ocpi_json")
    _drop_column("tariffs", "ocpi_id")

    _drop_column("stations", "pricing_display")

    # drivers.group_id: SQLite cannot drop a column with a REFERENCES clause, so the table is
    # rebuilt; that deletes the old rows, which sets tokens' and sessions' driver_id to NULL
    # (ON DELETE SET NULL), so those links are saved first and restored after.
    if _sqlite():
        tokens = sa.table("tokens", sa.column("id", BigId), sa.column("driver_id", BigId))
        session_drivers = sa.table(
            "charging_sessions", sa.column("id", BigId), sa.column("driver_id", BigId)
        )
        saved = {
            table: bind.execute(
                sa.select(table.c.id, table.c.driver_id).where(table.c.driver_id.is_not(None))
            ).all()
            for table in (tokens, session_drivers)
        }
        with op.batch_alter_table("drivers", recreate="always") as batch_op:
            batch_op.drop_column("group_id")
        for table, links in saved.items():
            for row_id, driver_id in links:
                bind.execute(
                    table.update().where(table.c.id == row_id).values(driver_id=driver_id)
                )
    else:
        op.drop_constraint(op.f("fk_drivers_group_id_driver_groups"), "drivers", type_="foreignkey")
        op.drop_column("drivers", "group_id")

    op.drop_table("tariff_versions")
    op.drop_index(op.f("ix_driver_groups_operator_id"), table_name="driver_groups")
    op.drop_table("driver_groups")
