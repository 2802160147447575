"""A fresh database for one benchmark run, migrated and seeded with N stations."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.migrate import upgrade
from evbilling.infra.secrets import hash_secret
from evbilling.models import Evse, Location, Operator, Station, Token
from evbilling.tariffs import service as tariffs

PASSWORD = "bench-password-0123456789"


def identity(index: int) -> str:
    return f"BENCH-{index:05d}"


def id_tag(index: int) -> str:
    return f"TAG{index:05d}"


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, migrated, empty database; dropped afterwards.

    SQLite (`sqlite`, or any sqlite URL): a file in a temporary directory. PostgreSQL: a new
    database on the URL's server, named after the URL's database with a random suffix (so
    runs never touch an existing database), dropped at the end.
    """
    parsed = make_url(url) if "://" in url else None
    if parsed is None or parsed.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            fresh = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            upgrade(url=fresh)
            yield fresh
        return
    name = f"{parsed.database or 'evbilling_bench'}_{secrets.token_hex(4)}"
    admin = parsed.set(database="postgres").render_as_string(hide_password=False)
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    try:
        fresh = parsed.set(database=name).render_as_string(hide_password=False)
        upgrade(url=fresh)
        yield fresh
    finally:
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def backend(url: str) -> str:
    return make_url(url).get_backend_name()


async def seed(url: str, stations: int) -> None:
    """Register the stations (one shared argon2 hash: hashing is not what is measured)."""
    engine = create_engine(url=url)
    password_hash = hash_secret(PASSWORD)
    now = datetime.now(UTC)
    async with engine.begin() as db:
        await db.execute(insert(Operator).values(id=1, name="Bench", created_at=now))
        await db.execute(
            insert(Location).values(
                id=1, operator_id=1, name="Bench", time_zone="Europe/Berlin", created_at=now,
                updated_at=now,
            )
        )  # fmt: skip
        rows = range(1, stations + 1)
        await db.execute(insert(Station), [
            {"id": i, "operator_id": 1, "location_id": 1, "identity": identity(i),
             "password_hash": password_hash, "created_at": now, "updated_at": now}
            for i in rows
        ])  # fmt: skip
        await db.execute(insert(Evse), [
            {"station_id": i, "connector_id": 1, "max_power_w": 22_000, "created_at": now,
             "updated_at": now}
            for i in rows
        ])  # fmt: skip
        await db.execute(insert(Token), [
            {"operator_id": 1, "uid": id_tag(i), "type": "rfid", "status": "active",
             "created_at": now, "updated_at": now}
            for i in rows
        ])  # fmt: skip
        if backend(url) == "postgresql":  # explicit ids above: move the sequences past them
            for table in ("operators", "locations", "stations"):
                await db.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT max(id) FROM {table}))")
                )  # fmt: skip
    async with create_session_factory(engine)() as session:
        await tariffs.create_tariff(
            db=session,
            operator_id=1,
            name="Bench",
            ocpi=tariffs.simple_tariff_ocpi(
                currency="EUR",
                energy_price_per_kwh=Decimal("0.39"),
                session_fee=Decimal("0.50"),
                vat_percent=Decimal("19"),
            ),
            now=now,
            is_default=True,
        )
        await session.commit()
    await engine.dispose()
