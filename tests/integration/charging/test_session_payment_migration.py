"""Migration 0010 on sessions written before it: those that had ended are final as they are
(never completed again, no session.completed for them); active ones wait for their end."""

from __future__ import annotations

from evbilling.infra.db.migrate import upgrade
from tests.integration.infra.test_migrations import _at, _dialect, _fetch, _run, empty_database

__all__ = ["empty_database"]  # the fixture, for pytest

_COLUMNS = (
    "id, operator_id, station_id, transaction_id, connector_id, start_key, id_tag, "
    "authorization_status, status, billable, pricing_status, started_at, stopped_at, "
    "meter_start_wh, last_seen_at, created_at, updated_at"
)


class TestSessionPaymentMigration:
    def test_ended_sessions_are_final_at_their_stop(self, empty_database: str) -> None:
        # Arrange
        upgrade(url=empty_database, revision="0009")
        dialect = _dialect(empty_database)
        t0, t1 = _at(dialect, "2026-03-02 09:00:00"), _at(dialect, "2026-03-02 10:00:00")

        def session(values: str) -> str:
            return f"INSERT INTO charging_sessions ({_COLUMNS}) VALUES ({values})"

        _run(
            empty_database,
            [
                f"INSERT INTO operators (id, name, created_at) VALUES (1, 'Op', {t0})",
                "INSERT INTO locations (id, operator_id, name, time_zone, created_at, "
                f"updated_at) VALUES (1, 1, 'Depot', 'Europe/Berlin', {t0}, {t0})",
                "INSERT INTO stations (id, operator_id, location_id, identity, created_at, "
                f"updated_at) VALUES (1, 1, 1, 'CP-1', {t0}, {t0})",
                session(
                    f"1, 1, 1, 1, 1, 'k1', 'AA', 'Accepted', 'completed', TRUE, 'priced', "
                    f"{t0}, {t1}, 0, {t1}, {t0}, {t1}"
                ),
                session(
                    f"2, 1, 1, 2, 2, 'k2', 'BB', 'Accepted', 'active', TRUE, 'pending', "
                    f"{t0}, NULL, 0, {t1}, {t0}, {t0}"
                ),
            ],
        )

        # Act
        upgrade(url=empty_database)

        # Assert
        rows = _fetch(
            empty_database,
            "SELECT id, occupied_until = stopped_at, completed_at = stopped_at, "
            "occupied_until IS NULL, spending_limit_minor, payment_kind "
            "FROM charging_sessions ORDER BY id",
        )
        assert [(row[0], bool(row[1]), bool(row[2])) for row in rows[:1]] == [(1, True, True)]
        assert (rows[1][0], bool(rows[1][3]), rows[1][4], rows[1][5]) == (2, True, None, None)
