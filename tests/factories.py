"""Plain factory functions that put rows straight into a migrated database."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import hash_secret
from evbilling.models import ChargingSession, Driver, Evse, Location, Station, Token
from evbilling.tariffs import service as tariffs

STATION_PASSWORD = "correct-horse-battery-staple"


async def create_tariff(
    context: ServiceContext,
    *,
    operator_id: int,
    name: str = "Standard",
    currency: str = "EUR",
    energy_price_per_kwh: str = "0.30",
    session_fee: str = "1.00",
    vat_percent: str = "20",
    is_default: bool = True,
    ocpi: dict[str, Any] | None = None,
) -> int:
    """A tariff: the given OCPI document, or per kWh + per session fee + VAT."""
    document = ocpi or tariffs.simple_tariff_ocpi(
        currency=currency,
        energy_price_per_kwh=Decimal(energy_price_per_kwh),
        session_fee=Decimal(session_fee),
        vat_percent=Decimal(vat_percent),
    )
    async with context.unit_of_work() as db:
        tariff = await tariffs.create_tariff(
            db=db,
            operator_id=operator_id,
            name=name,
            ocpi=document,
            now=context.clock.now(),
            is_default=is_default,
        )
        await db.commit()
        return tariff.id


async def create_station(
    context: ServiceContext,
    *,
    operator_id: int,
    identity: str = "CP-1",
    password: str | None = STATION_PASSWORD,
    connectors: int = 2,
    max_power_w: int = 22_000,
    tariff_id: int | None = None,
    time_zone: str = "Europe/Berlin",
    pricing_display: bool = False,
) -> int:
    now = context.clock.now()
    async with context.unit_of_work() as db:
        location = Location(
            operator_id=operator_id,
            name=f"Site of {identity}",
            time_zone=time_zone,
            created_at=now,
            updated_at=now,
        )
        db.add(location)
        await db.flush()
        station = Station(
            operator_id=operator_id,
            location_id=location.id,
            identity=identity,
            password_hash=hash_secret(password) if password else None,
            tariff_id=tariff_id,
            pricing_display=pricing_display,
            created_at=now,
            updated_at=now,
        )
        db.add(station)
        await db.flush()
        for connector_id in range(1, connectors + 1):
            db.add(
                Evse(
                    station_id=station.id,
                    connector_id=connector_id,
                    max_power_w=max_power_w,
                    created_at=now,
                    updated_at=now,
                )
            )
        await db.commit()
        return station.id


async def create_token(
    context: ServiceContext,
    *,
    operator_id: int,
    uid: str = "04A1B2C3D4",
    status: str = "active",
    expires_at: datetime | None = None,
    driver_name: str | None = "Alice",
) -> int:
    now = context.clock.now()
    async with context.unit_of_work() as db:
        driver_id = None
        if driver_name is not None:
            driver = Driver(operator_id=operator_id, name=driver_name, created_at=now,
                            updated_at=now)  # fmt: skip
            db.add(driver)
            await db.flush()
            driver_id = driver.id
        token = Token(
            operator_id=operator_id,
            uid=uid.upper(),
            type="rfid",
            status=status,
            driver_id=driver_id,
            expires_at=expires_at,
            created_at=now,
            updated_at=now,
        )
        db.add(token)
        await db.commit()
        return token.id


async def create_sessions(
    context: ServiceContext,
    *,
    operator_id: int,
    station_id: int,
    count: int,
    status: str = "completed",
) -> list[int]:
    """`count` sessions at a station, one minute apart (no evidence, not priced), on
    connectors 1, 2, ... when active (one active session per connector)."""
    now = context.clock.now()
    async with context.unit_of_work() as db:
        given = await db.scalar(
            select(func.max(ChargingSession.transaction_id)).where(
                ChargingSession.station_id == station_id
            )
        )
        rows = [
            ChargingSession(
                operator_id=operator_id,
                station_id=station_id,
                transaction_id=(given or 0) + index + 1,
                connector_id=index + 1 if status == "active" else 1,
                start_key=uuid.uuid4().hex,
                id_tag="04A1B2C3D4",
                authorization_status="Accepted",
                status=status,
                billable=False,
                pricing_status="pending" if status == "active" else "not_billable",
                started_at=now + timedelta(minutes=index),
                meter_start_wh=0,
                last_seen_at=now,
                created_at=now,
                updated_at=now,
            )
            for index in range(count)
        ]
        db.add_all(rows)
        await db.commit()
        return [row.id for row in rows]
