"""Provider events: verified on the raw body, stored once per event id in the transaction of
their effect, acted on from the object as the provider has it now; twice or out of order,
the same final state."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from evbilling.models import Payment, PaymentMethod, WebhookInbox
from evbilling.payments.psp.sandbox import SIGNATURE_HEADER
from evbilling.payments.psp.signatures import signature_header
from tests.integration.payments.flow import (
    card_session,
    charge_of,
    clearing,
    payment_of,
    trial_balance_is_zero,
)
from tests.integration.payments.support import (
    TWICE_REVERSED,
    WEBHOOK_SECRET,
    Payments,
    add_site,
)


def signed(
    payments: Payments, event: dict[str, object], *, secret: str = WEBHOOK_SECRET
) -> dict[str, str]:
    body = json.dumps(event).encode()
    now = int(payments.clock.now().timestamp())
    return {
        "content": body.decode(),
        SIGNATURE_HEADER: signature_header(secret=secret, timestamp=now, payload=body),
    }


async def post(
    payments: Payments, event: dict[str, object], *, secret: str = WEBHOOK_SECRET
) -> tuple[int, str]:
    parts = signed(payments, event, secret=secret)
    response = await payments.http.post(
        "/webhooks/sandbox",
        content=parts["content"],
        headers={SIGNATURE_HEADER: parts[SIGNATURE_HEADER], "content-type": "application/json"},
    )
    return response.status_code, response.text


async def inbox_count(payments: Payments) -> int:
    async with payments.context.unit_of_work() as db:
        return int((await db.execute(select(func.count()).select_from(WebhookInbox))).scalar_one())


def event_about(payment: Payment, *, event_id: str, type_: str, status: str) -> dict[str, object]:
    assert payment.authorization_id is not None
    return {
        "id": event_id,
        "object": "event",
        "type": type_,
        "created": 1_772_442_000,
        "data": {"object": {"id": payment.authorization_id, "status": status}},
    }


class TestDuplicatesAndOrder:
    async def test_events_sent_twice_and_out_of_order_end_in_the_same_state(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52", card=TWICE_REVERSED)

        payment = await payment_of(payments, done.session_id)
        charge = await charge_of(payments, done.session_id)
        assert (payment.status, payment.captured_minor) == ("captured", 952)
        assert (charge.captured_minor, charge.status) == (952, "settled")
        assert await clearing(payments) == 952
        assert await trial_balance_is_zero(payments)
        async with payments.context.unit_of_work() as db:
            rows = (await db.execute(select(WebhookInbox.event_id))).scalars().all()
        assert len(rows) == len(set(rows)) > 0

    async def test_a_replayed_event_is_a_no_op(self, payments: Payments) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        event = event_about(
            payment, event_id="evt_replay", type_="authorization.captured", status="captured"
        )

        first = await post(payments, event)
        second = await post(payments, event)

        assert first == (200, "unchanged")
        assert second == (200, "duplicate")
        assert (await payment_of(payments, done.session_id)).captured_minor == 952
        assert await clearing(payments) == 952

    async def test_an_older_event_never_moves_a_state_backwards(self, payments: Payments) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        stale = event_about(
            payment, event_id="evt_stale", type_="authorization.authorized", status="authorized"
        )

        assert await post(payments, stale) == (200, "unchanged")

        assert (await payment_of(payments, done.session_id)).status == "captured"

    async def test_concurrent_deliveries_of_one_event_store_it_once(
        self, payments: Payments
    ) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        before = await inbox_count(payments)
        event = event_about(
            payment, event_id="evt_race", type_="authorization.captured", status="captured"
        )

        results = await asyncio.gather(*(post(payments, event) for _ in range(4)))

        assert all(status == 200 for status, _ in results)
        assert await inbox_count(payments) == before + 1


class TestVerification:
    @pytest.mark.parametrize("secret", ["whsec_wrong_secret_0000000000", ""])
    async def test_a_bad_signature_is_refused_and_nothing_is_stored(
        self, payments: Payments, secret: str
    ) -> None:
        done = await card_session(payments, total="9.52")
        payment = await payment_of(payments, done.session_id)
        before = await inbox_count(payments)
        event = event_about(
            payment, event_id="evt_forged", type_="authorization.canceled", status="canceled"
        )

        status, _ = await post(payments, event, secret=secret or "x")

        assert status == 400
        assert await inbox_count(payments) == before
        assert (await payment_of(payments, done.session_id)).status == "captured"

    async def test_another_providers_path_is_not_found(self, payments: Payments) -> None:
        response = await payments.http.post("/webhooks/stripe", content=b"{}")

        assert response.status_code == 404


class TestCardSetupEvents:
    async def test_the_webhook_and_the_return_page_store_the_card_once(
        self, payments: Payments
    ) -> None:
        _, driver_id = await add_site(payments.context, payments.operator_id)

        await payments.save_card(driver_id)  # the return page
        await payments.drain()  # then the webhook

        async with payments.context.unit_of_work() as db:
            methods = (await db.execute(select(PaymentMethod))).scalars().all()
        assert len(methods) == 1
