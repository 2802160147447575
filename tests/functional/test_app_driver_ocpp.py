"""A driver charges through the app, over a real server with the `ocpp` library as the
charger: signs in, finds the EVSE by its QR code, reads the quote, starts (the station gets
RemoteStartTransaction and starts the transaction), watches the live stream's cost grow,
stops (RemoteStopTransaction), and reads the receipt. An unknown RFID card's first use shows
a link code on the station's display, which links the card in the app (both databases)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from ocpp.v16 import call
from sqlalchemy import update

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.main import create_app
from evbilling.models import Evse
from tests.app_support import DEFAULT_PASSWORD, signed_in_driver
from tests.factories import create_station, create_tariff
from tests.functional.charger import TestCharger, charger
from tests.functional.conftest import LiveServer, loopback_config, running

EVSE_UID = "DE*EVB*E0001"
APP = "/api/app/v1"


@asynccontextmanager
async def app_server(context: ServiceContext, clock: FixedClock) -> AsyncIterator[LiveServer]:
    app, gateway = create_app(context=context, command_timeout_s=5.0)
    for route in app.routes:
        if getattr(route, "path", None) == APP:
            mounted: FastAPI = route.app  # type: ignore[attr-defined]
            mounted.state.live_interval_s = 0.05
            mounted.state.live_max_s = 30.0
    async with running(loopback_config(app), gateway, clock) as server:
        yield server


async def arrange_site(context: ServiceContext, operator_id: int, *, display: bool) -> None:
    # 0.30/kWh + 1.00 per session, 20 % VAT.
    tariff = await create_tariff(context, operator_id=operator_id)
    station_id = await create_station(
        context, operator_id=operator_id, tariff_id=tariff, connectors=1, pricing_display=display
    )
    async with context.unit_of_work() as db:
        await db.execute(update(Evse).where(Evse.station_id == station_id).values(uid=EVSE_UID))
        await db.commit()


async def next_event(lines: AsyncIterator[str]) -> tuple[str, dict[str, Any]]:
    name, data = "", ""
    async for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif not line and name:
            return name, json.loads(data)
    raise AssertionError("the stream ended")


async def until(predicate: Any, *, attempts: int = 200) -> None:
    for _ in range(attempts):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not in time")


async def status(station: TestCharger, value: str, minutes: float) -> None:
    await station.call(
        call.StatusNotification(
            connector_id=1, error_code="NoError", status=value, timestamp=station.stamp(minutes)
        )
    )


class TestDriverChargesThroughTheApp:
    async def test_sign_in_lookup_quote_start_live_cost_stop_and_receipt(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        await arrange_site(context, operator_id, display=False)
        await signed_in_driver(context=context, operator_id=operator_id, email="ada@example.com")
        async with (
            app_server(context, clock) as server,
            httpx.AsyncClient(base_url=server.base_url + APP, timeout=10) as client,
            charger(server) as station,
        ):
            await station.boot()
            await status(station, "Available", 0)
            # Sign in, find the EVSE by its QR code, read the quote.
            login = await client.post(
                "/login", json={"email": "ada@example.com", "password": DEFAULT_PASSWORD}
            )
            assert login.status_code == 200, login.text
            client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            found = await client.get(
                "/evses/lookup", params={"code": f"{server.base_url}/pay/{EVSE_UID}"}
            )
            quote = await client.get(f"/evses/{EVSE_UID}/quote")

            # Start: the station is asked, and starts the transaction with the app token.
            started = await client.post("/charging/start", json={"evse_uid": EVSE_UID})
            remote = [args for kind, args in station.received if kind == "RemoteStartTransaction"]
            tx = await station.start_tx(remote[0]["id_tag"], meter_start=0, minutes=0)
            await status(station, "Charging", 0)
            sessions = (await client.get("/sessions")).json()["items"]
            session_id = sessions[0]["id"]

            # Watch: the running cost grows with the meter; stop; the stream ends.
            async with client.stream("GET", f"/sessions/{session_id}/live") as live:
                lines = live.aiter_lines()
                first = await next_event(lines)
                await station.meter(tx.transaction_id, 10_000, minutes=30)
                later = await next_event(lines)
                while later[1]["energy_wh"] < 10_000:
                    later = await next_event(lines)
                # Half an hour on, the app renews its short-lived access token.
                renewed = await client.post(
                    "/token/refresh", json={"refresh_token": login.json()["refresh_token"]}
                )
                client.headers["Authorization"] = f"Bearer {renewed.json()['access_token']}"
                stopped = await client.post(f"/sessions/{session_id}/stop")
                await until(
                    lambda: any(kind == "RemoteStopTransaction" for kind, _ in station.received)
                )
                await station.stop_tx(tx.transaction_id, 10_000, minutes=31)
                await status(station, "Finishing", 31)
                await status(station, "Available", 32)
                tail = [await next_event(lines)]
                while tail[-1][0] != "end":
                    tail.append(await next_event(lines))

            receipt = await client.get(f"/receipts/{session_id}")
            page = await client.get(server.base_url + receipt.json()["url"].split("testserver")[-1])

        assert found.status_code == 200, found.text
        assert found.json()["connected"] is True
        assert [word["kind"] for word in quote.json()["prices"]] == ["energy", "flat"]
        assert quote.json()["hold"] is not None
        assert started.status_code == 202, started.text
        assert remote[0]["id_tag"].startswith("APP")
        assert tx.id_tag_info["status"] == "Accepted"
        assert first[0] == "update"
        assert first[1]["running"] is True
        assert later[1]["energy_wh"] == 10_000
        assert float(later[1]["cost_incl_vat"]) > float(first[1]["cost_incl_vat"] or 0)
        assert stopped.status_code == 202, stopped.text
        assert tail[-1][0] == "end"
        assert tail[-2][1]["running"] is False
        # 10 kWh x 0.36 + 1.20 = 4.80 incl. 20 % VAT.
        assert receipt.status_code == 200, receipt.text
        assert receipt.json()["total"] == {"amount": "4.80", "currency": "EUR"}
        assert [v["rate"] for v in receipt.json()["vat"]] == ["20"]
        assert page.status_code == 200
        assert "4.80 EUR" in page.text

    async def test_an_unknown_cards_first_use_shows_a_code_that_links_it_in_the_app(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        await arrange_site(context, operator_id, display=True)
        driver = await signed_in_driver(
            context=context, operator_id=operator_id, email="ada@example.com"
        )
        async with (
            app_server(context, clock) as server,
            httpx.AsyncClient(
                base_url=server.base_url + APP, headers=driver.headers, timeout=10
            ) as client,
            charger(server) as station,
        ):
            refused = await station.call(call.Authorize(id_tag="04c0ffee"))
            await until(lambda: bool(station.data_transfers))
            shown = json.loads(station.data_transfers[0]["data"])
            code = shown["priceText"].split("code ")[1].split(" (")[0]
            linked = await client.post("/rfid-cards", json={"uid": "04C0FFEE", "code": code})
            again = await station.call(call.Authorize(id_tag="04c0ffee"))

        assert refused.id_tag_info["status"] == "Invalid"
        assert station.data_transfers[0]["message_id"] == "SetUserPrice"
        assert shown["idToken"] == "04c0ffee"
        assert linked.status_code == 201, linked.text
        assert again.id_tag_info["status"] == "Accepted"
