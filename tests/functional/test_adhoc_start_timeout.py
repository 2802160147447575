"""A remote start the station does not answer in time, over real sockets with the `ocpp`
library as the charger and the sandbox provider (both databases): the guest's hold stays,
and the StartTransaction that comes later takes it as the session's, as any card hold."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.models import AdhocPayment, ChargingSession, Payment
from tests.functional.adhoc_site import running_site
from tests.integration.payments.adhoc_support import EVSE_UID, priced_evse

SUCCESS = "4242424242424242"


async def pay(http: httpx.AsyncClient) -> str:
    """The guest's steps up to the start; the live page's path."""
    begun = await http.post(f"/pay/{EVSE_UID}", data={"email": ""})
    assert begun.status_code == 303, begun.text
    card_page = await http.get(begun.headers["location"])
    action = re.search(r'action="([^"]+)"', card_page.text)
    assert action is not None
    submitted = await http.post(
        action.group(1).replace("&amp;", "&"),
        data={"number": SUCCESS, "expiry": "12/34", "cvc": "123"},
    )
    assert submitted.status_code == 303, submitted.text
    back = urlsplit(submitted.headers["location"])
    returned = await http.get(f"{back.path}?{back.query}")
    start = re.search(r'action="([^"]+)"', returned.text)
    assert start is not None
    started = await http.post(start.group(1))
    assert started.status_code == 303, started.text
    return started.headers["location"]


class TestRemoteStartWithoutAnswer:
    async def test_the_hold_waits_for_the_late_start_and_becomes_the_sessions(
        self, context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int
    ) -> None:
        await priced_evse(context, operator_id=operator_id)
        async with running_site(context, clock, tmp_path, command_timeout_s=0.3) as site:
            site.charger.start_answer_delay_s = 1.0
            async with httpx.AsyncClient(base_url=site.server.base_url, timeout=10) as http:
                live_path = await pay(http)
                async with context.unit_of_work() as db:
                    waiting = (await db.execute(select(AdhocPayment))).scalar_one()
                    held = await db.get(Payment, waiting.payment_id)
                    assert held is not None
                    before = (waiting.status, held.status, held.session_id)

                for _ in range(100):  # the late StartTransaction
                    if site.charger.transaction_id is not None:
                        break
                    await asyncio.sleep(0.05)
                await asyncio.gather(*site.charger.tasks)
                live = await http.get(live_path)

        assert before == ("start_pending", "authorized", None)
        async with context.unit_of_work() as db:
            session = (await db.execute(select(ChargingSession))).scalar_one()
            attached = await db.get(Payment, held.id)
        assert attached is not None
        assert attached.session_id == session.id
        assert attached.status == "authorized"
        assert session.spending_limit_minor is not None
        assert live.status_code == 200
        assert "Stop charging" in live.text
