"""The Alembic migrations on databases holding data written by the previous schema.

The shared fixtures are migrated to head already, so each test here builds its own
throw-away database: a SQLite file, and a PostgreSQL database when
EVBILLING_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from evbilling.infra.db.engine import create_engine
from evbilling.infra.db.migrate import alembic_config, upgrade
from evbilling.models import Base
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi, parse_tariff, tariff_to_ocpi
from tests.conftest import POSTGRES_URL_ENV

FULL_TARIFF = (
    '{"country_code": "XX", "party_id": "EVB", "id": "1", "currency": "EUR", '
    '"elements": [{"price_components": ['
    '{"type": "ENERGY", "price": 0.39, "vat": 19, "step_size": 1}, '
    '{"type": "FLAT", "price": 0.50, "vat": 19, "step_size": 1}]}], '
    '"last_updated": "2026-03-02T10:30:00Z"}'
)
ENERGY_ONLY_TARIFF = (
    '{"country_code": "XX", "party_id": "EVB", "id": "2", "currency": "SEK", '
    '"elements": [{"price_components": ['
    '{"type": "ENERGY", "price": 3.125, "vat": 25.0, "step_size": 1}]}], '
    '"last_updated": "2026-03-02T09:00:00Z"}'
)
SESSION_TARIFF = (
    '{"country_code": "XX", "party_id": "EVB", "id": "1", "currency": "EUR", '
    '"elements": [{"price_components": ['
    '{"type": "ENERGY", "price": 0.30, "vat": 20, "step_size": 1}, '
    '{"type": "FLAT", "price": 1.00, "vat": 20, "step_size": 1}]}]}'
)


def _at(dialect: str, moment: str) -> str:
    """A UTC timestamp literal as the 0001 schema stored it."""
    return f"'{moment}.000000'" if dialect == "sqlite" else f"'{moment}+00'"


def _old_rows(dialect: str) -> list[str]:
    t0 = _at(dialect, "2026-03-02 09:00:00")
    t1 = _at(dialect, "2026-03-02 10:30:00")
    snapshot = (
        '{"tariff_id": 1, "name": "Standard", "currency": "EUR", '
        '"energy_price_per_kwh": "0.30", "session_fee": "1.00", "vat_percent": "20"}'
    )
    return [
        f"INSERT INTO operators (id, name, created_at) VALUES (1, 'Op', {t0})",
        "INSERT INTO tariffs (id, operator_id, name, currency, energy_price_per_kwh, "
        "session_fee, vat_percent, is_default, version, created_at, updated_at) VALUES "
        f"(1, 1, 'Standard', 'EUR', '0.39', '0.50', '19', TRUE, 3, {t0}, {t1})",
        "INSERT INTO tariffs (id, operator_id, name, currency, energy_price_per_kwh, "
        "session_fee, vat_percent, is_default, version, created_at, updated_at) VALUES "
        f"(2, 1, 'Nordic', 'SEK', '3.125', '0', '25.0', FALSE, 1, {t0}, {t0})",
        "INSERT INTO locations (id, operator_id, name, time_zone, tariff_id, created_at, "
        f"updated_at) VALUES (1, 1, 'Depot', 'Europe/Berlin', 2, {t0}, {t0})",
        "INSERT INTO stations (id, operator_id, location_id, identity, tariff_id, created_at, "
        f"updated_at) VALUES (1, 1, 1, 'CP-1', 1, {t0}, {t0})",
        "INSERT INTO evses (id, station_id, connector_id, max_power_w, tariff_id, created_at, "
        f"updated_at) VALUES (1, 1, 1, 22000, 1, {t0}, {t0})",
        "INSERT INTO drivers (id, operator_id, name, tariff_id, created_at, updated_at) "
        f"VALUES (1, 1, 'Ada', 2, {t0}, {t0})",
        "INSERT INTO tokens (id, operator_id, uid, type, status, driver_id, created_at, "
        f"updated_at) VALUES (1, 1, 'AA', 'rfid', 'active', 1, {t0}, {t0})",
        "INSERT INTO charging_sessions (id, operator_id, station_id, evse_id, connector_id, "
        "start_key, id_tag, token_id, driver_id, authorization_status, status, billable, "
        "started_at, meter_start_wh, tariff_id, tariff_snapshot, currency, created_at, "
        "updated_at) VALUES (1, 1, 1, 1, 1, 'k1', 'AA', 1, 1, 'Accepted', 'active', TRUE, "
        f"{t0}, 0, 1, '{snapshot}', 'EUR', {t0}, {t0})",
        "INSERT INTO meter_values (id, station_id, connector_id, session_id, value_key, "
        f"timestamp, sampled_values, received_at) VALUES (1, 1, 1, 1, 'v1', {t0}, '[]', {t0})",
    ]


def _run(url: str, statements: list[str]) -> None:
    async def run() -> None:
        engine = create_engine(url=url)
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(run())


def _fetch(url: str, query: str) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        engine = create_engine(url=url)
        async with engine.connect() as connection:
            rows = [tuple(row) for row in (await connection.execute(text(query))).all()]
        await engine.dispose()
        return rows

    return asyncio.run(run())


def _foreign_key(constraint: Any) -> tuple[Any, ...]:
    return (
        constraint.table.name,
        tuple(column.name for column in constraint.columns),
        constraint.referred_table.name,
        tuple(element.column.name for element in constraint.elements),
    )


def _without_fk_renames(differences: list[Any]) -> list[Any]:
    """SQLite does not report the name of a foreign key declared on its column (the only way
    to add one without rebuilding the table), so a same-shape remove/add pair is no change."""
    removed = {_foreign_key(d[1]) for d in differences if d[0] == "remove_fk"}
    added = {_foreign_key(d[1]) for d in differences if d[0] == "add_fk"}
    renamed = removed & added
    return [
        d
        for d in differences
        if d[0] not in ("remove_fk", "add_fk") or _foreign_key(d[1]) not in renamed
    ]


def _schema_differences(url: str) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return _without_fk_renames(list(compare_metadata(context, Base.metadata)))

    async def run() -> list[Any]:
        engine = create_engine(url=url)
        async with engine.connect() as connection:
            differences = await connection.run_sync(compare)
        await engine.dispose()
        return differences

    return asyncio.run(run())


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url=url), revision)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL variant: set {POSTGRES_URL_ENV} to run it (.ci/run does)")
    name = f"evbilling_migrate_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(base)
    admin = admin_url.render_as_string(hide_password=False)

    async def execute(statement: str) -> None:
        engine = create_engine(url=admin)
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _dialect(url: str) -> str:
    return make_url(url).get_backend_name()


class TestOcpiTariffMigration:
    def test_converts_tariffs_to_versioned_ocpi_documents(self, empty_database: str) -> None:
        # Arrange
        upgrade(url=empty_database, revision="0001")
        _run(empty_database, _old_rows(_dialect(empty_database)))

        # Act
        upgrade(url=empty_database)

        # Assert
        tariffs = _fetch(
            empty_database,
            "SELECT id, ocpi_id, currency, version, ocpi_json FROM tariffs ORDER BY id",
        )
        assert tariffs == [
            (1, "1", "EUR", 3, FULL_TARIFF),
            (2, "2", "SEK", 1, ENERGY_ONLY_TARIFF),
        ]
        versions = _fetch(
            empty_database,
            "SELECT tariff_id, version, ocpi_json FROM tariff_versions ORDER BY tariff_id",
        )
        assert versions == [(1, 3, FULL_TARIFF), (2, 1, ENERGY_ONLY_TARIFF)]
        for document in (FULL_TARIFF, ENERGY_ONLY_TARIFF, SESSION_TARIFF):
            # Valid OCPI, and already in the form the services write.
            assert dumps_ocpi(tariff_to_ocpi(parse_tariff(loads_ocpi(document)))) == document

    def test_converts_session_snapshots_and_keeps_every_link(self, empty_database: str) -> None:
        # Arrange
        upgrade(url=empty_database, revision="0001")
        _run(empty_database, _old_rows(_dialect(empty_database)))

        # Act
        upgrade(url=empty_database)

        # Assert
        sessions = _fetch(
            empty_database,
            "SELECT tariff_id, tariff_version, tariff_ocpi, time_zone, cdr, driver_id, token_id "
            "FROM charging_sessions",
        )
        assert sessions == [(1, None, SESSION_TARIFF, "Europe/Berlin", None, 1, 1)]
        # No table was rebuilt in a way that fired ON DELETE actions.
        assert _fetch(empty_database, "SELECT tariff_id FROM stations") == [(1,)]
        assert _fetch(empty_database, "SELECT tariff_id FROM evses") == [(1,)]
        assert _fetch(empty_database, "SELECT tariff_id FROM locations") == [(2,)]
        assert _fetch(empty_database, "SELECT tariff_id, group_id FROM drivers") == [(2, None)]
        assert _fetch(empty_database, "SELECT driver_id FROM tokens") == [(1,)]
        assert _fetch(empty_database, "SELECT count(*) FROM meter_values") == [(1,)]
        assert _fetch(empty_database, "SELECT pricing_display FROM stations") in (
            [(False,)],
            [(0,)],
        )

    def test_head_matches_the_models(self, empty_database: str) -> None:
        upgrade(url=empty_database)

        assert _schema_differences(empty_database) == []

    def test_downgrades_and_upgrades_again(self, empty_database: str) -> None:
        # Arrange
        upgrade(url=empty_database, revision="0001")
        _run(empty_database, _old_rows(_dialect(empty_database)))
        upgrade(url=empty_database)

        # Act
        _downgrade(empty_database, "0001")

        # Assert
        prices = _fetch(
            empty_database,
            "SELECT energy_price_per_kwh, session_fee, vat_percent FROM tariffs ORDER BY id",
        )
        assert [tuple(str(value) for value in row) for row in prices] == [
            ("0.39", "0.50", "19"),
            ("3.125", "0", "25.0"),
        ]
        assert _fetch(empty_database, "SELECT driver_id FROM tokens") == [(1,)]
        assert _fetch(empty_database, "SELECT driver_id FROM charging_sessions") == [(1,)]
        upgrade(url=empty_database)
        assert _fetch(empty_database, "SELECT ocpi_json FROM tariffs WHERE id = 1") == [
            (FULL_TARIFF,)
        ]
