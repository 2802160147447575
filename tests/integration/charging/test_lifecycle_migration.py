"""Migration 0005 on sessions written by 0003: transaction ids kept, per-station counters set,
pricing statuses filled, and the active sessions that broke the new invariants (the bug it
fixes) ended so that `reprice-failed` prices them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from evbilling.charging.ending import retry_failed_pricing
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.migrate import upgrade
from evbilling.kit import FixedClock
from tests.integration.infra.test_migrations import (
    SESSION_TARIFF,
    _at,
    _dialect,
    _fetch,
    _run,
    empty_database,
)

__all__ = ["empty_database"]  # the fixture, for pytest

_COLUMNS = (
    "id, operator_id, station_id, connector_id, start_key, id_tag, token_id, "
    "authorization_status, status, billable, started_at, stopped_at, meter_start_wh, "
    "meter_stop_wh, last_register_wh, last_register_at, energy_wh, tariff_ocpi, time_zone, "
    "currency, cost_excl_vat, cost_breakdown, created_at, updated_at"
)


def _rows_at_0003(dialect: str) -> list[str]:
    t0, t1, t2, t3 = (_at(dialect, f"2026-03-02 {hour}:00:00") for hour in ("09", "10", "11", "12"))
    tariff = SESSION_TARIFF.replace("'", "''")

    def session(values: str) -> str:
        return f"INSERT INTO charging_sessions ({_COLUMNS}) VALUES ({values})"

    return [
        f"INSERT INTO operators (id, name, created_at) VALUES (1, 'Op', {t0})",
        "INSERT INTO locations (id, operator_id, name, time_zone, created_at, updated_at) "
        f"VALUES (1, 1, 'Depot', 'Europe/Berlin', {t0}, {t0})",
        "INSERT INTO stations (id, operator_id, location_id, identity, created_at, updated_at) "
        f"VALUES (1, 1, 1, 'CP-1', {t0}, {t0})",
        "INSERT INTO stations (id, operator_id, location_id, identity, created_at, updated_at) "
        f"VALUES (2, 1, 1, 'CP-2', {t0}, {t0})",
        "INSERT INTO tokens (id, operator_id, uid, type, status, created_at, updated_at) "
        f"VALUES (1, 1, 'AA', 'rfid', 'active', {t0}, {t0})",
        "INSERT INTO tokens (id, operator_id, uid, type, status, created_at, updated_at) "
        f"VALUES (2, 1, 'BB', 'rfid', 'active', {t0}, {t0})",
        # Two active sessions on CP-1 connector 1: the older one was forgotten by the station.
        session(
            f"1, 1, 1, 1, 'k1', 'AA', 1, 'Accepted', 'active', TRUE, {t0}, NULL, 0, NULL, "
            f"3000, {t1}, NULL, '{tariff}', 'Europe/Berlin', 'EUR', NULL, NULL, {t0}, {t0}"
        ),
        session(
            f"2, 1, 1, 1, 'k2', 'BB', 2, 'Accepted', 'active', TRUE, {t2}, NULL, 0, NULL, "
            f"0, {t2}, NULL, '{tariff}', 'Europe/Berlin', 'EUR', NULL, NULL, {t2}, {t2}"
        ),
        # Priced; pricing failed (the old breakdown hack); rejected.
        session(
            f"3, 1, 2, 1, 'k3', 'AA', NULL, 'Accepted', 'completed', TRUE, {t0}, {t1}, 0, "
            f"1000, 1000, {t1}, 1000, '{tariff}', 'Europe/Berlin', 'EUR', '1.30', NULL, "
            f"{t0}, {t1}"
        ),
        session(
            f"4, 1, 2, 1, 'k4', 'AA', NULL, 'Accepted', 'completed', TRUE, {t1}, {t1}, 0, "
            "0, 0, NULL, 0, NULL, NULL, NULL, NULL, "
            f'\'{{"error": "InvalidSession: boom"}}\', {t1}, {t1}'
        ),
        session(
            f"5, 1, 2, 2, 'k5', 'ZZ', NULL, 'Invalid', 'rejected', FALSE, {t1}, NULL, 0, "
            f"NULL, 0, {t1}, NULL, NULL, NULL, NULL, NULL, NULL, {t1}, {t1}"
        ),
        "INSERT INTO meter_values (id, station_id, connector_id, session_id, value_key, "
        f"timestamp, sampled_values, received_at) VALUES (1, 1, 1, 2, 'v1', {t2}, '[]', {t3})",
    ]


def _reprice(url: str) -> int:
    async def run() -> int:
        engine = create_engine(url=url)
        context = ServiceContext(
            session_factory=create_session_factory(engine),
            clock=FixedClock(current=datetime(2026, 3, 3, tzinfo=UTC)),
        )
        try:
            async with context.unit_of_work() as db:
                priced = await retry_failed_pricing(db=db, now=context.clock.now(), limit=10)
                await db.commit()
                return priced
        finally:
            await engine.dispose()

    return asyncio.run(run())


class TestSessionLifecycleMigration:
    def test_keeps_transaction_ids_and_counts_them_per_station(self, empty_database: str) -> None:
        upgrade(url=empty_database, revision="0003")
        _run(empty_database, _rows_at_0003(_dialect(empty_database)))

        upgrade(url=empty_database, revision="0005")

        assert _fetch(
            empty_database, "SELECT id, transaction_id FROM charging_sessions ORDER BY id"
        ) == [(n, n) for n in range(1, 6)]
        assert _fetch(empty_database, "SELECT last_transaction_id FROM stations ORDER BY id") == [
            (2,),
            (5,),
        ]

    def test_fills_pricing_status_and_ends_sessions_that_break_the_invariants(
        self, empty_database: str
    ) -> None:
        upgrade(url=empty_database, revision="0003")
        _run(empty_database, _rows_at_0003(_dialect(empty_database)))

        upgrade(url=empty_database, revision="0005")

        rows = _fetch(
            empty_database,
            "SELECT id, status, pricing_status, pricing_error, meter_stop_wh, energy_wh "
            "FROM charging_sessions ORDER BY id",
        )
        assert rows == [
            (
                1,
                "superseded",
                "failed",
                "ended by migration 0005; run `evbilling session reprice-failed` to price it",
                3000,
                3000,
            ),
            (2, "active", "pending", None, None, None),
            (3, "completed", "priced", None, 1000, 1000),
            (4, "completed", "failed", "InvalidSession: boom", 0, 0),
            (5, "rejected", "not_billable", None, None, None),
        ]
        assert _fetch(
            empty_database, "SELECT cost_breakdown FROM charging_sessions WHERE id = 4"
        ) == [(None,)]
        assert _fetch(
            empty_database, "SELECT session_id, kind FROM metering_anomalies ORDER BY id"
        ) == [(1, "session_superseded")]
        seen = _fetch(empty_database, "SELECT last_seen_at FROM charging_sessions WHERE id = 2")
        assert str(seen[0][0]).startswith("2026-03-02 12:00:00")

    def test_the_sessions_it_ended_are_priced_by_reprice_failed(self, empty_database: str) -> None:
        upgrade(url=empty_database, revision="0003")
        _run(empty_database, _rows_at_0003(_dialect(empty_database)))
        upgrade(url=empty_database)

        priced = _reprice(empty_database)

        assert priced == 1  # session 1; session 4 has no tariff and stays failed
        rows = _fetch(
            empty_database,
            "SELECT id, pricing_status, cost_excl_vat FROM charging_sessions "
            "WHERE id IN (1, 4) ORDER BY id",
        )
        # 3 kWh x 0.30 + 1.00 = 1.90, for review: the server ended it
        assert [(r[0], r[1], None if r[2] is None else str(r[2])) for r in rows] == [
            (1, "review", "1.90"),
            (4, "failed", None),
        ]

    def test_downgrades_to_0003_and_upgrades_again(self, empty_database: str) -> None:
        upgrade(url=empty_database, revision="0003")
        _run(empty_database, _rows_at_0003(_dialect(empty_database)))
        upgrade(url=empty_database)

        from alembic import command

        from evbilling.infra.db.migrate import alembic_config

        command.downgrade(alembic_config(url=empty_database), "0003")
        assert _fetch(empty_database, "SELECT count(*) FROM charging_sessions") == [(5,)]
        upgrade(url=empty_database)
        assert _fetch(
            empty_database, "SELECT count(*) FROM charging_sessions WHERE status = 'active'"
        ) == [(1,)]
