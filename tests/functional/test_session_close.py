"""Operators close a session the station no longer knows (API and CLI) and find sessions by
pricing status; every refused request names its field and changes nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from evbilling.cli import app as cli_app
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from tests.factories import create_station, create_tariff, create_token
from tests.integration.charging.lifecycle_arrange import (
    charged,
    session_row,
    station_ref,
    stop,
)

CARD = "04A1B2C3D4"
OTHER_CARD = "04E5F6A7B8"


async def priced_station(context: ServiceContext, operator_id: int, identity: str = "CP-1") -> int:
    tariff = await create_tariff(context, operator_id=operator_id, is_default=False)
    return await create_station(
        context, operator_id=operator_id, identity=identity, tariff_id=tariff
    )


async def one_active_session(context: ServiceContext, operator_id: int) -> tuple[Any, int]:
    """CP-1 charging 4 kWh in 30 minutes with CARD; (station, session id)."""
    station = await station_ref(context, await priced_station(context, operator_id))
    await create_token(context, operator_id=operator_id, uid=CARD)
    started = await charged(context, station, card=CARD, wh=4000, minutes=30)
    row = await session_row(context, station, started.transaction_id)
    return station, row.id


class TestCloseApi:
    async def test_an_operator_closes_a_session_and_it_is_priced_to_its_last_reading(
        self, context: ServiceContext, operator_id: int, api_client: httpx.AsyncClient
    ) -> None:
        _, session_id = await one_active_session(context, operator_id)

        response = await api_client.post(
            f"/sessions/{session_id}/close", json={"reason": "  station replaced after a fault "}
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["id"], body["transaction_id"], body["status"]) == (session_id, 1, "closed")
        assert body["end_reason"] == "station replaced after a fault"
        assert body["stopped_at"] == "2026-03-02T09:30:00Z"
        assert body["energy_wh"] == 4000
        # 4 kWh x 0.30 + 1.00 = 2.20; 20 % VAT -> 2.64
        assert (body["cost_excl_vat"], body["cost_incl_vat"]) == ("2.20", "2.64")
        assert (body["pricing_status"], body["pricing_error"]) == ("priced", None)
        assert body["meter_samples"] == []
        assert [line["kind"] for line in body["cost_breakdown"]["lines"]] == ["FLAT", "ENERGY"]

    async def test_the_card_of_a_closed_session_charges_again(
        self,
        context: ServiceContext,
        clock: FixedClock,
        operator_id: int,
        api_client: httpx.AsyncClient,
    ) -> None:
        _, session_id = await one_active_session(context, operator_id)
        elsewhere = await station_ref(context, await priced_station(context, operator_id, "CP-2"))
        before = await charged(context, elsewhere, card=CARD, wh=100, minutes=1)

        await api_client.post(f"/sessions/{session_id}/close", json={"reason": "forgotten"})
        clock.advance(seconds=120)
        after = await charged(context, elsewhere, card=CARD, wh=100, minutes=1)

        assert before.id_tag_info.status == "ConcurrentTx"
        assert after.id_tag_info.status == "Accepted"

    async def test_closing_a_session_that_is_not_active_is_a_conflict_and_changes_nothing(
        self, context: ServiceContext, operator_id: int, api_client: httpx.AsyncClient
    ) -> None:
        station, session_id = await one_active_session(context, operator_id)
        await api_client.post(f"/sessions/{session_id}/close", json={"reason": "first"})
        closed = await session_row(context, station, 1)

        again = await api_client.post(f"/sessions/{session_id}/close", json={"reason": "second"})

        assert again.status_code == 409
        assert again.json()["detail"] == f"session {session_id} is closed, not active"
        unchanged = await session_row(context, station, 1)
        assert (unchanged.end_reason, unchanged.updated_at, unchanged.cost_incl_vat) == (
            "first",
            closed.updated_at,
            closed.cost_incl_vat,
        )

    async def test_a_stopped_session_cannot_be_closed(
        self, context: ServiceContext, operator_id: int, api_client: httpx.AsyncClient
    ) -> None:
        station, session_id = await one_active_session(context, operator_id)
        await stop(
            context,
            station,
            transaction_id=1,
            wh=5000,
            at=context.clock.now() + timedelta(minutes=40),
        )

        response = await api_client.post(f"/sessions/{session_id}/close", json={"reason": "x"})

        assert response.status_code == 409
        row = await session_row(context, station, 1)
        assert (row.status, row.end_reason, row.energy_wh) == ("completed", None, 5000)

    async def test_another_operators_session_is_not_found_and_stays_active(
        self,
        context: ServiceContext,
        operator_id: int,
        other_client: httpx.AsyncClient,
    ) -> None:
        station, session_id = await one_active_session(context, operator_id)

        response = await other_client.post(
            f"/sessions/{session_id}/close", json={"reason": "not mine"}
        )

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        row = await session_row(context, station, 1)
        assert (row.status, row.stopped_at, row.end_reason) == ("active", None, None)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "reason"),
            ({"reason": None}, "reason"),
            ({"reason": ""}, "reason"),
            ({"reason": "    "}, "reason"),
            ({"reason": 7}, "reason"),
            ({"reason": "x" * 501}, "reason"),
            ({"reason": "nul \u0000 inside"}, "reason"),
            ({"reason": "two\nlines"}, "reason"),
            ({"reason": "fine", "status": "completed"}, "status"),
        ],
    )
    async def test_a_bad_reason_is_refused_with_its_field_and_the_session_stays_active(
        self,
        context: ServiceContext,
        operator_id: int,
        api_client: httpx.AsyncClient,
        body: dict[str, Any],
        field: str,
    ) -> None:
        station, session_id = await one_active_session(context, operator_id)

        response = await api_client.post(f"/sessions/{session_id}/close", json=body)

        assert response.status_code == 422, response.text
        assert [error["field"] for error in response.json()["errors"]] == [field]
        row = await session_row(context, station, 1)
        assert (row.status, row.stopped_at, row.pricing_status) == ("active", None, "pending")

    @pytest.mark.parametrize(
        ("path", "status"),
        [
            ("/sessions/0/close", 422),
            ("/sessions/-1/close", 422),
            ("/sessions/9223372036854775808/close", 422),
            ("/sessions/one/close", 422),
            ("/sessions/999/close", 404),
        ],
    )
    async def test_a_bad_session_id_is_refused_and_nothing_is_closed(
        self,
        context: ServiceContext,
        operator_id: int,
        api_client: httpx.AsyncClient,
        path: str,
        status: int,
    ) -> None:
        station, _ = await one_active_session(context, operator_id)

        response = await api_client.post(path, json={"reason": "guess"})

        assert response.status_code == status, response.text
        assert (await session_row(context, station, 1)).status == "active"


async def failed_session(context: ServiceContext, operator_id: int) -> tuple[Any, int]:
    """A billable session at a station without any tariff: its pricing fails."""
    station = await station_ref(
        context, await create_station(context, operator_id=operator_id, identity="FREE-1")
    )
    await create_token(context, operator_id=operator_id, uid=OTHER_CARD, driver_name="Bob")
    started = await charged(context, station, card=OTHER_CARD, wh=1000, minutes=10)
    await stop(
        context,
        station,
        transaction_id=started.transaction_id,
        wh=1000,
        at=context.clock.now() + timedelta(minutes=10),
    )
    return station, (await session_row(context, station, started.transaction_id)).id


class TestPricingStatusFilter:
    async def test_lists_the_sessions_whose_pricing_failed_with_the_reason(
        self, context: ServiceContext, operator_id: int, api_client: httpx.AsyncClient
    ) -> None:
        await one_active_session(context, operator_id)
        _, failed_id = await failed_session(context, operator_id)

        failed = (await api_client.get("/sessions", params={"pricing_status": "failed"})).json()
        pending = (await api_client.get("/sessions", params={"pricing_status": "pending"})).json()

        assert [item["id"] for item in failed["items"]] == [failed_id]
        assert failed["items"][0]["status"] == "completed"
        assert failed["items"][0]["pricing_error"] == "no tariff applied when the session started"
        assert failed["items"][0]["cost_incl_vat"] is None
        assert [item["pricing_status"] for item in pending["items"]] == ["pending"]

    async def test_an_unknown_pricing_status_is_refused_with_its_field(
        self, api_client: httpx.AsyncClient
    ) -> None:
        response = await api_client.get("/sessions", params={"pricing_status": "unpaid"})

        assert response.status_code == 422
        assert [error["field"] for error in response.json()["errors"]] == ["pricing_status"]

    async def test_the_running_cost_of_a_session_that_could_not_be_priced_says_why(
        self, context: ServiceContext, operator_id: int, api_client: httpx.AsyncClient
    ) -> None:
        _, failed_id = await failed_session(context, operator_id)

        response = await api_client.get(f"/sessions/{failed_id}/cost")

        assert response.status_code == 409
        assert "no tariff applied" in response.json()["detail"]


class TestSessionCli:
    @pytest.fixture
    def cli(self, database_url: str) -> Any:
        async def run(*args: str, env: dict[str, str] | None = None) -> Result:
            environment = {"EVBILLING_DATABASE_URL": database_url, **(env or {})}
            return await asyncio.to_thread(CliRunner().invoke, cli_app, list(args), env=environment)

        return run

    async def test_session_close_closes_with_the_reason_and_refuses_a_second_time(
        self, context: ServiceContext, operator_id: int, cli: Any
    ) -> None:
        station, session_id = await one_active_session(context, operator_id)

        closed = await cli("session", "close", str(session_id), "--reason", "station replaced")
        again = await cli("session", "close", str(session_id), "--reason", "again")

        assert closed.exit_code == 0, closed.output
        assert f"session {session_id} at CP-1 connector 1: closed" in closed.output
        assert "ended: station replaced" in closed.output
        assert "pricing priced" in closed.output
        assert again.exit_code == 1
        assert f"session {session_id} is closed, not active" in again.output
        assert (await session_row(context, station, 1)).end_reason == "station replaced"

    @pytest.mark.parametrize(
        ("args", "code", "message"),
        [
            (("--reason", ""), 1, "reason: a reason is required"),
            (("--reason", "x" * 501), 1, "reason: must be at most 500 characters"),
            ((), 2, "--reason"),
        ],
    )
    async def test_session_close_refuses_a_bad_reason_and_changes_nothing(
        self,
        context: ServiceContext,
        operator_id: int,
        cli: Any,
        args: tuple[str, ...],
        code: int,
        message: str,
    ) -> None:
        station, session_id = await one_active_session(context, operator_id)

        result = await cli("session", "close", str(session_id), *args)

        assert result.exit_code == code
        assert message in result.output
        assert (await session_row(context, station, 1)).status == "active"

    async def test_session_list_filters_by_pricing_status_and_shows_the_reason(
        self, context: ServiceContext, operator_id: int, cli: Any
    ) -> None:
        await one_active_session(context, operator_id)
        _, failed_id = await failed_session(context, operator_id)

        text = await cli("session", "list", "--pricing-status", "failed")
        listed = await cli("session", "list", "--pricing-status", "failed", "--json")
        wrong = await cli("session", "list", "--pricing-status", "unpaid")

        assert text.exit_code == 0, text.output
        assert f"session {failed_id} not priced: no tariff applied" in text.output
        assert [item["id"] for item in json.loads(listed.output)["items"]] == [failed_id]
        assert wrong.exit_code == 2
        assert "unpaid" in wrong.output

    async def test_reprice_failed_prices_what_can_be_priced_and_keeps_the_rest_failed(
        self, context: ServiceContext, operator_id: int, cli: Any
    ) -> None:
        station, session_id = await one_active_session(context, operator_id)
        await stop(
            context,
            station,
            transaction_id=1,
            wh=4000,
            at=context.clock.now() + timedelta(minutes=30),
        )
        # As migration 0005 leaves the sessions it ended: failed, to be priced again.
        async with context.unit_of_work() as db:
            from evbilling.models import ChargingSession

            row = await db.get_one(ChargingSession, session_id)
            row.pricing_status, row.pricing_error = "failed", "ended by migration 0005"
            row.cost_excl_vat = row.cost_vat = row.cost_incl_vat = None
            await db.commit()
        free, free_id = await failed_session(context, operator_id)

        result = await cli("session", "reprice-failed")

        assert result.exit_code == 0, result.output
        assert result.output.strip() == "1 session(s) priced"
        repriced = await session_row(context, station, 1)
        assert (repriced.pricing_status, repriced.pricing_error) == ("priced", None)
        assert repriced.cost_incl_vat == Decimal("2.64")
        still = await session_row(context, free, 1)
        assert (still.id, still.pricing_status) == (free_id, "failed")

    async def test_close_abandoned_uses_the_setting_unless_told_otherwise(
        self, context: ServiceContext, clock: FixedClock, operator_id: int, cli: Any
    ) -> None:
        # The CLI reads the wall clock: the session was last heard of two days ago.
        clock.current = datetime.now(UTC) - timedelta(days=2)
        station, _ = await one_active_session(context, operator_id)

        patient = await cli("session", "close-abandoned", "--silent-for-s", str(7 * 86_400))
        by_setting = await cli(
            "session", "close-abandoned", env={"EVBILLING_SESSION_ABANDON_AFTER_S": "86400"}
        )

        assert patient.output.strip() == "0 abandoned session(s) closed"
        assert by_setting.exit_code == 0, by_setting.output
        assert by_setting.output.strip() == "1 abandoned session(s) closed"
        assert (await session_row(context, station, 1)).status == "abandoned"
