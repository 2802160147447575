"""`evbilling ocpp dead-letters` and `dead-letter ID` against a migrated SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from evbilling.charging.station_events import StationRef
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.group_commit import GroupCommit
from evbilling.kit import SystemClock
from evbilling.ocpp.dead_letters import keep_dead_letter
from evbilling.ocpp.v16.frames import CallFrame
from tests.functional.cli_calls import add_station, invoke, invoke_json


def keep(database: Path, station: StationRef, *frames: CallFrame) -> None:
    """Dead letters as the OCPP edge keeps them, one per frame, oldest first."""

    async def run() -> None:
        engine = create_engine(url=f"sqlite+aiosqlite:///{database}")
        context = ServiceContext(
            session_factory=create_session_factory(engine), clock=SystemClock()
        )
        writer = GroupCommit(context=context)
        for frame in frames:
            await keep_dead_letter(writer, station=station, frame=frame, error=RuntimeError("boom"))
        await engine.dispose()

    asyncio.run(run())


def station_of(database: Path, identity: str) -> StationRef:
    with sqlite3.connect(database) as connection:
        station_id, operator_id = connection.execute(
            "SELECT id, operator_id FROM stations WHERE identity = ?", (identity,)
        ).fetchone()
    return StationRef(id=station_id, operator_id=operator_id, identity=identity)


def other_operators_station(database: Path) -> StationRef:
    at = "2026-03-02 09:00:00.000000"
    with sqlite3.connect(database) as connection:
        operator_id = connection.execute(
            "INSERT INTO operators (name, created_at) VALUES ('Other', ?)", (at,)
        ).lastrowid
        location_id = connection.execute(
            "INSERT INTO locations (operator_id, name, time_zone, created_at, updated_at) "
            "VALUES (?, 'Elsewhere', 'UTC', ?, ?)",
            (operator_id, at, at),
        ).lastrowid
        station_id = connection.execute(
            "INSERT INTO stations (operator_id, location_id, identity, pricing_display, "
            "created_at, updated_at) VALUES (?, ?, 'CP-X', 0, ?, ?)",
            (operator_id, location_id, at, at),
        ).lastrowid
    assert operator_id is not None
    assert station_id is not None
    return StationRef(id=station_id, operator_id=operator_id, identity="CP-X")


def frame(message_id: str, action: str = "StatusNotification") -> CallFrame:
    return CallFrame(message_id=message_id, action=action, payload={"connectorId": 1})


class TestDeadLetterCli:
    def test_lists_dead_letters_newest_first_page_by_page(self, cli_database: Path) -> None:
        add_station("CP-1")
        add_station("CP-2")
        keep(cli_database, station_of(cli_database, "CP-1"), frame("a"), frame("b"))
        keep(cli_database, station_of(cli_database, "CP-2"), frame("c", "StopTransaction"))
        keep(cli_database, other_operators_station(cli_database), frame("not-ours"))

        first = invoke_json("ocpp", "dead-letters", "--limit", "2")
        rest = invoke_json("ocpp", "dead-letters", "--after", str(first["next_after"]))
        only_cp1 = invoke_json("ocpp", "dead-letters", "--station", "CP-1")

        assert [d["message_id"] for d in first["items"]] == ["c", "b"]
        assert [d["message_id"] for d in rest["items"]] == ["a"]
        assert rest["next_after"] is None
        assert [d["message_id"] for d in only_cp1["items"]] == ["b", "a"]
        assert first["items"][0]["frame"] == '[2,"c","StopTransaction",{"connectorId":1}]'
        assert first["items"][0]["error_type"] == "builtins.RuntimeError"

    def test_shows_one_dead_letter_with_its_frame(self, cli_database: Path) -> None:
        add_station("CP-1")
        keep(cli_database, station_of(cli_database, "CP-1"), frame("a"))
        listed = invoke_json("ocpp", "dead-letters")

        result = invoke("ocpp", "dead-letter", str(listed["items"][0]["id"]))
        table = invoke("ocpp", "dead-letters")

        assert result.exit_code == 0, result.output
        assert '[2,"a","StatusNotification",{"connectorId":1}]' in result.stdout
        assert "boom" in result.stdout
        assert table.exit_code == 0, table.output
        assert "StatusNotification" in table.stdout

    def test_another_operators_dead_letter_is_not_found(self, cli_database: Path) -> None:
        add_station("CP-1")
        keep(cli_database, other_operators_station(cli_database), frame("x"))
        with sqlite3.connect(cli_database) as connection:
            (dead_letter_id,) = connection.execute("SELECT id FROM ocpp_dead_letters").fetchone()

        result = invoke("ocpp", "dead-letter", str(dead_letter_id))

        assert result.exit_code == 1
        assert "not found" in result.output
        assert invoke_json("ocpp", "dead-letters")["items"] == []

    def test_an_empty_list_says_so_and_a_bad_station_is_refused(self, cli_database: Path) -> None:
        empty = invoke("ocpp", "dead-letters")
        bad = invoke("ocpp", "dead-letters", "--station", "CP-1\n")

        assert empty.exit_code == 0, empty.output
        assert "no dead letters" in empty.stdout
        assert bad.exit_code == 2
