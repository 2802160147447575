"""Ad-hoc payment without an account, through the pay pages in-process with the sandbox
provider (both databases): the offer before any card, the guest payer, the hold, the
remote start and what its answer does to the hold, and hostile input."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from evbilling.models import AdhocPayment, Job, Payment, Token
from evbilling.payments.adhoc_receipts import forget_unused_addresses
from evbilling.payments.domain import HoldPolicy
from evbilling.payments.jobs import RELEASE_KIND, sweep_holds
from evbilling.web.qr import qr_png, qr_svg
from tests.integration.payments.adhoc_support import (
    EVSE_UID,
    OTHER_EVSE_UID,
    ScriptedStations,
    counts,
    pay_with_card,
    priced_evse,
)
from tests.integration.payments.support import DECLINE, SUCCESS, Payments


async def only_payment(payments: Payments) -> tuple[AdhocPayment, Payment | None, Token]:
    async with payments.context.unit_of_work() as db:
        row = (await db.execute(select(AdhocPayment))).scalar_one()
        hold = None if row.payment_id is None else await db.get(Payment, row.payment_id)
        token = await db.get(Token, row.token_id)
        assert token is not None
        return row, hold, token


async def release_jobs(payments: Payments) -> list[int]:
    async with payments.context.unit_of_work() as db:
        rows = await db.execute(select(Job.payload).where(Job.kind == RELEASE_KIND))
        return [payload["hold_id"] for payload in rows.scalars()]


class TestTheOfferBeforeAnyCard:
    async def test_shows_station_status_tariff_in_order_and_the_hold(
        self, payments: Payments
    ) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        payments.context.commands = ScriptedStations()

        page = await payments.http.get(f"/pay/{EVSE_UID}")

        assert page.status_code == 200
        text = page.text
        assert "CP-1" in text
        assert EVSE_UID in text
        assert "Available" in text
        order = [
            text.index("0.36 EUR per kWh"),
            text.index("0.01 EUR per minute"),
            text.index("1.20 EUR per session"),
            text.index("0.10 EUR per minute parked"),
        ]
        assert order == sorted(order)
        assert 'id="hold-amount"' in text
        assert "EUR" in text
        assert "number" not in text  # no card field on our page
        assert page.headers["referrer-policy"] == "no-referrer"

    async def test_an_unknown_or_malformed_evse_is_a_404_page(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)

        for path in ("/pay/DE*EVB*E9999", "/pay/%00", "/pay/" + "A" * 300, "/pay/<script>"):
            page = await payments.http.get(path)

            assert page.status_code == 404, path
            assert "<script>" not in page.text
            assert page.headers["content-type"].startswith("text/html")

    async def test_the_qr_code_encodes_the_pay_page(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        url = f"http://testserver/pay/{EVSE_UID}"

        png = await payments.http.get(f"/pay/{EVSE_UID}/qr.png")
        svg = await payments.http.get(f"/pay/{EVSE_UID}/qr.svg")
        missing = await payments.http.get("/pay/DE*EVB*E9999/qr.png")

        assert png.status_code == 200
        assert png.content.startswith(b"\x89PNG")
        assert png.content == qr_png(url)
        assert svg.content == qr_svg(url)
        assert b"<svg" in svg.content
        assert missing.status_code == 404


class TestPayAndCharge:
    async def test_a_guest_payer_is_held_and_the_charger_started(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        stations = ScriptedStations(answer="Accepted")
        payments.context.commands = stations

        guest = await pay_with_card(payments.http, number=SUCCESS, email="guest@example.com")

        row, hold, token = await only_payment(payments)
        assert token.type == "ad_hoc"
        assert token.driver_id == row.driver_id
        assert len(token.uid) == 20
        assert token.uid.startswith("AH")
        assert hold is not None
        assert hold.status == "authorized"
        assert hold.driver_id == row.driver_id
        assert row.status == "starting"
        assert row.email == "guest@example.com"
        assert stations.sent == [("RemoteStartTransaction", {"idTag": token.uid, "connectorId": 1})]
        live = await payments.http.get(guest.live_path)
        assert live.status_code == 200
        assert "the charger is starting" in live.text
        assert guest.live_path.startswith(f"/pay/{EVSE_UID}/p/")

    async def test_a_repeated_start_places_nothing_twice(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        stations = ScriptedStations(answer="Accepted")
        payments.context.commands = stations
        guest = await pay_with_card(payments.http, number=SUCCESS)

        again = await payments.http.post(guest.start_path)

        assert again.status_code == 303
        async with payments.context.unit_of_work() as db:
            assert len((await db.execute(select(Payment))).all()) == 1
        assert len(stations.sent) == 1

    async def test_a_guest_who_never_charged_is_forgotten_a_day_later(
        self, payments: Payments
    ) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        payments.context.commands = ScriptedStations()
        await pay_with_card(payments.http, number=DECLINE, email="guest@example.com")
        began = payments.clock.now()

        addresses: list[str | None] = []
        for later in (timedelta(hours=23), timedelta(hours=25)):
            async with payments.context.unit_of_work() as db:
                await forget_unused_addresses(db=db, now=began + later)
                await db.commit()
            addresses.append((await only_payment(payments))[0].email)

        assert addresses == ["guest@example.com", None]  # kept for a day, then erased

    async def test_a_declined_card_starts_nothing(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        stations = ScriptedStations()
        payments.context.commands = stations

        guest = await pay_with_card(payments.http, number=DECLINE)

        row, hold, _ = await only_payment(payments)
        assert row.status == "declined"
        assert hold is not None
        assert hold.status == "failed"
        assert stations.sent == []
        live = await payments.http.get(guest.live_path)
        assert "Your card was declined" in live.text
        assert 'id="stop"' not in live.text


class TestWhatTheStationsAnswerDoesToTheHold:
    async def test_a_refused_start_releases_the_hold_at_once(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        payments.context.commands = ScriptedStations(answer="Rejected")

        guest = await pay_with_card(payments.http, number=SUCCESS)
        await payments.run_jobs()

        row, hold, _ = await only_payment(payments)
        assert row.status == "refused"
        assert hold is not None
        assert hold.status == "released"
        live = await payments.http.get(guest.live_path)
        assert "the hold is released" in live.text

    async def test_a_start_without_answer_keeps_the_hold_until_the_deadline(
        self, payments: Payments
    ) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        payments.context.commands = ScriptedStations(answer=None)
        policy = HoldPolicy()
        guest = await pay_with_card(payments.http, number=SUCCESS)
        row, hold, _ = await only_payment(payments)
        assert row.status == "start_pending"
        assert hold is not None
        assert hold.status == "authorized"
        sweep = sweep_holds(policy=policy)

        async with payments.context.unit_of_work() as db:
            await sweep(db=db, payload={}, now=payments.clock.now())  # before the deadline
            await db.commit()
        kept = await release_jobs(payments)
        payments.clock.advance(seconds=policy.unused_hold_after.total_seconds() + 1)
        async with payments.context.unit_of_work() as db:
            await sweep(db=db, payload={}, now=payments.clock.now())
            await db.commit()
        await payments.run_jobs()

        assert kept == []
        assert await release_jobs(payments) == [hold.id]
        _, released, _ = await only_payment(payments)
        assert released is not None
        assert released.status == "released"
        live = await payments.http.get(guest.live_path)
        assert "The charger did not start" in live.text


class TestHostileInput:
    async def test_refuses_a_bad_email_and_creates_nothing(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        before = await counts(payments.context)

        for email in ("not-an-address", "a@b.c\x00", "x" * 250 + "@example.com", "a@b.c\nBcc: x"):
            page = await payments.http.post(f"/pay/{EVSE_UID}", data={"email": email})

            assert page.status_code == 422, email
            assert "valid e-mail" in page.text
        assert await counts(payments.context) == before

    async def test_refuses_an_oversized_form(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        before = await counts(payments.context)

        page = await payments.http.post(f"/pay/{EVSE_UID}", data={"email": "a" * 5000})

        assert page.status_code == 413
        assert await counts(payments.context) == before

    async def test_a_wrong_token_or_another_evse_is_a_404(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        payments.context.commands = ScriptedStations()
        guest = await pay_with_card(payments.http, number=SUCCESS)
        token = guest.live_path.rsplit("/", 1)[1]

        wrong = await payments.http.get(f"/pay/{EVSE_UID}/p/{'x' * len(token)}")
        elsewhere = await payments.http.get(f"/pay/{OTHER_EVSE_UID}/p/{token}")
        stop = await payments.http.post(f"/pay/{OTHER_EVSE_UID}/p/{token}/stop")
        short = await payments.http.get(f"/pay/{EVSE_UID}/p/abc")

        assert [wrong.status_code, elsewhere.status_code, stop.status_code] == [404, 404, 404]
        assert short.status_code == 404
        assert "Not found" in elsewhere.text

    async def test_no_get_changes_state(self, payments: Payments) -> None:
        await priced_evse(payments.context, operator_id=payments.operator_id)
        stations = ScriptedStations()
        payments.context.commands = stations
        before = await counts(payments.context)

        for path in (f"/pay/{EVSE_UID}", f"/pay/{EVSE_UID}/qr.svg"):
            await payments.http.get(path)
        start = await payments.http.get(f"/pay/{EVSE_UID}/p/{'y' * 32}/start")

        assert start.status_code in (404, 405)
        assert await counts(payments.context) == before
        assert stations.sent == []
