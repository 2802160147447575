"""What a signed-in driver does through the app API, in-process (SQLite and PostgreSQL):
find an EVSE and its price, start and stop charging, follow sessions live, read payments
and receipts, manage saved cards and RFID cards."""

from __future__ import annotations

import json

from sqlalchemy import select

from evbilling.drivers import linking
from evbilling.models import RfidLinkCode, Token
from evbilling.payments import card_flow
from tests.app_support import signed_in_driver
from tests.integration.app_driver.driving import (
    EVSE_UID,
    DriverApp,
    add_card,
    add_method,
    add_session,
    owned_rows,
)


def events(text: str) -> list[tuple[str, dict[str, object]]]:
    parsed = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        parsed.append((lines["event"], json.loads(lines["data"])))
    return parsed


class TestEvses:
    async def test_finds_the_evse_by_its_id_and_by_its_qr_code(self, app: DriverApp) -> None:
        by_id = await app.get(app.a, f"/evses/{EVSE_UID}")
        by_qr = await app.get(
            app.a, "/evses/lookup", params={"code": "https://ev.example/pay/DE%2AEVB%2AE0001"}
        )
        unknown = await app.get(app.a, "/evses/lookup", params={"code": "DE*EVB*E9999"})
        garbage = await app.get(app.a, "/evses/lookup", params={"code": "hello"})

        assert by_id.status_code == 200, by_id.text
        assert by_id.json() == by_qr.json()
        assert by_id.json()["station_identity"] == "CP-1"
        assert by_id.json()["connected"] is True
        assert unknown.status_code == 404
        assert garbage.status_code == 422

    async def test_the_quote_names_the_prices_in_order_and_the_hold(self, app: DriverApp) -> None:
        async with app.context.unit_of_work() as db:
            expected = await card_flow.hold_amount(
                db=db,
                operator_id=app.operator_id,
                station_id=app.station_id,
                evse_id=None,
                driver_id=app.a.driver_id,
                now=app.context.clock.now(),
            )
        assert expected is not None

        quote = await app.get(app.a, f"/evses/{EVSE_UID}/quote")

        assert quote.status_code == 200, quote.text
        body = quote.json()
        assert [word["text"] for word in body["prices"]] == [
            "0.476 EUR per kWh, incl. 19% VAT",
            "1.19 EUR per session, incl. 19% VAT",
        ]
        assert body["hold"] == {"amount": str(expected.amount), "currency": "EUR"}


class TestStartAndStop:
    async def test_starts_with_the_drivers_app_token_and_reuses_it(self, app: DriverApp) -> None:
        first = await app.post(app.a, "/charging/start", json={"evse_uid": EVSE_UID})
        second = await app.post(
            app.a, "/charging/start", json={"evse_uid": EVSE_UID, "connector_id": 1}
        )

        assert first.status_code == 202, first.text
        assert first.json() == {"evse_uid": EVSE_UID, "connector_id": 1, "status": "Accepted"}
        assert second.status_code == 202
        sent = app.stations.sent
        assert [(identity, action) for identity, action, _ in sent] == [
            ("CP-1", "RemoteStartTransaction")
        ] * 2
        assert sent[0][2] == sent[1][2]
        async with app.context.unit_of_work() as db:
            token = (await db.execute(select(Token).where(Token.type == "app"))).scalar_one()
        assert sent[0][2] == {"idTag": token.uid, "connectorId": 1}
        assert token.driver_id == app.a.driver_id

    async def test_an_offline_station_a_timeout_and_a_refusal_are_clear_problems(
        self, app: DriverApp
    ) -> None:
        start = {"evse_uid": EVSE_UID}
        app.stations.connected.clear()
        offline = await app.post(app.a, "/charging/start", json=start)
        app.stations.connected.add("CP-1")
        app.stations.times_out = True
        timed_out = await app.post(app.a, "/charging/start", json=start)
        app.stations.times_out = False
        app.stations.answer = {"status": "Rejected"}
        refused = await app.post(app.a, "/charging/start", json=start)
        wrong_connector = await app.post(
            app.a, "/charging/start", json={"evse_uid": EVSE_UID, "connector_id": 2}
        )

        assert (offline.status_code, offline.json()["type"].rsplit("/", 1)[-1]) == (
            409,
            "station-offline",
        )
        assert timed_out.status_code == 504
        assert refused.status_code == 409
        assert "Rejected" in refused.json()["detail"]
        assert wrong_connector.status_code == 422

    async def test_refuses_a_start_the_driver_cannot_pay_for_and_sends_nothing(
        self, app: DriverApp
    ) -> None:
        preferred = await app.http.put(
            "/api/app/v1/me/payment-preference",
            headers=app.a.headers,
            json={"preference": "postpaid"},
        )
        before = await owned_rows(app, app.a)

        refused = await app.post(app.a, "/charging/start", json={"evse_uid": EVSE_UID})

        assert preferred.status_code == 200, preferred.text
        assert refused.status_code == 409
        assert "no postpaid account" in refused.json()["detail"]
        assert app.stations.sent == []
        assert await owned_rows(app, app.a) == before

    async def test_refuses_a_start_before_the_email_is_verified_and_sends_nothing(
        self, app: DriverApp
    ) -> None:
        unverified = await signed_in_driver(
            context=app.context,
            operator_id=app.operator_id,
            email="new@example.com",
            verified=False,
        )
        before = await owned_rows(app, unverified)

        refused = await app.post(unverified, "/charging/start", json={"evse_uid": EVSE_UID})

        assert refused.status_code == 409
        assert "verify your e-mail address" in refused.json()["detail"]
        assert app.stations.sent == []
        assert await owned_rows(app, unverified) == before

    async def test_stops_the_drivers_running_session(self, app: DriverApp) -> None:
        session_id = await add_session(app, app.a)

        stopped = await app.post(app.a, f"/sessions/{session_id}/stop")

        assert stopped.status_code == 202, stopped.text
        assert app.stations.sent == [("CP-1", "RemoteStopTransaction", {"transactionId": 1})]

    async def test_refuses_to_stop_a_finished_session(self, app: DriverApp) -> None:
        session_id = await add_session(app, app.a, total="2.38")

        stopped = await app.post(app.a, f"/sessions/{session_id}/stop")

        assert stopped.status_code == 409
        assert app.stations.sent == []


class TestSessions:
    async def test_lists_pages_and_reads_the_drivers_sessions(self, app: DriverApp) -> None:
        first = await add_session(app, app.a, total="2.38")
        second = await add_session(app, app.a, total="3.57")

        page = await app.get(app.a, "/sessions", params={"limit": 1})
        rest = await app.get(
            app.a, "/sessions", params={"limit": 1, "after": page.json()["next_after"]}
        )
        detail = await app.get(app.a, f"/sessions/{first}")

        assert [s["id"] for s in page.json()["items"]] == [second]
        assert [s["id"] for s in rest.json()["items"]] == [first]
        assert rest.json()["next_after"] is None
        assert detail.json()["cost_incl_vat"] == "2.38"
        assert detail.json()["running"] is False
        assert detail.json()["receipt_url"].startswith("http://testserver/receipts/")

    async def test_the_live_stream_of_a_finished_session_sends_it_and_ends(
        self, app: DriverApp
    ) -> None:
        session_id = await add_session(app, app.a, total="2.38")

        live = await app.get(app.a, f"/sessions/{session_id}/live")

        assert live.headers["content-type"].startswith("text/event-stream")
        assert [name for name, _ in events(live.text)] == ["update", "end"]
        assert events(live.text)[0][1]["cost_incl_vat"] == "2.38"

    async def test_the_live_stream_of_a_running_session_updates_until_its_time_is_up(
        self, app: DriverApp
    ) -> None:
        session_id = await add_session(app, app.a)

        live = await app.get(app.a, f"/sessions/{session_id}/live")

        names = [name for name, _ in events(live.text)]
        assert names[-1] == "timeout"
        assert set(names[:-1]) == {"update"}
        assert all(data["running"] for name, data in events(live.text) if name == "update")


class TestPaymentMethods:
    async def test_adds_a_card_on_the_providers_page_makes_another_default_and_removes_it(
        self, app: DriverApp
    ) -> None:
        setup = await app.post(app.a, "/payment-methods/setups")
        first = await add_method(app, app.a, token="pm_first")
        second = await add_method(app, app.a, token="pm_second")

        made = await app.post(app.a, f"/payment-methods/{first}/default")
        listed = await app.get(app.a, "/payment-methods")
        removed = await app.delete(app.a, f"/payment-methods/{first}")
        after = await app.get(app.a, "/payment-methods")

        assert setup.status_code == 201, setup.text
        assert setup.json()["url"].startswith("http")
        assert made.json()["is_default"] is True
        assert [(m["id"], m["is_default"]) for m in listed.json()] == [
            (first, True),
            (second, False),
        ]
        assert removed.status_code == 204, removed.text
        assert [(m["id"], m["is_default"]) for m in after.json()] == [(second, True)]


class TestRfidCards:
    async def test_links_a_card_with_the_stations_code_lists_and_unlinks_it(
        self, app: DriverApp
    ) -> None:
        async with app.context.unit_of_work() as db:
            issued = await linking.offer_link_code(
                db=db,
                operator_id=app.operator_id,
                station_id=app.station_id,
                uid="04aa11bb",
                now=app.context.clock.now(),
            )
            await db.commit()
        assert issued is not None

        linked = await app.post(app.a, "/rfid-cards", json={"uid": "04aa11bb", "code": issued.code})
        listed = await app.get(app.a, "/rfid-cards")
        unlinked = await app.delete(app.a, f"/rfid-cards/{linked.json()['id']}")
        after = await app.get(app.a, "/rfid-cards")

        assert linked.status_code == 201, linked.text
        assert linked.json()["uid"] == "04AA11BB"
        assert [card["uid"] for card in listed.json()] == ["04AA11BB"]
        assert unlinked.status_code == 204
        assert after.json() == []

    async def test_a_wrong_code_is_refused_and_its_attempt_counts(self, app: DriverApp) -> None:
        async with app.context.unit_of_work() as db:
            issued = await linking.offer_link_code(
                db=db,
                operator_id=app.operator_id,
                station_id=None,
                uid="04AA11BB",
                now=app.context.clock.now(),
            )
            await db.commit()
        assert issued is not None
        wrong = "0" * 8 if issued.code != "0" * 8 else "1" * 8

        refused = await app.post(app.a, "/rfid-cards", json={"uid": "04AA11BB", "code": wrong})

        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "code"
        async with app.context.unit_of_work() as db:
            attempts = await db.scalar(select(RfidLinkCode.attempts))
        assert attempts == 1
        assert (await owned_rows(app, app.a))["tokens"] == []

    async def test_refuses_a_malformed_link_request_and_changes_nothing(
        self, app: DriverApp
    ) -> None:
        await add_card(app, app.b, uid="B0B0")
        before = await owned_rows(app, app.a)

        answers = [
            await app.post(app.a, "/rfid-cards", json=body)
            for body in (
                {"uid": "x" * 21, "code": "12345678"},
                {"uid": "04AA\u0000", "code": "12345678"},
                {"uid": "04AA", "code": "1" * 33},
                {"uid": "04AA", "code": "12345678", "extra": 1},
            )
        ]

        assert [answer.status_code for answer in answers] == [422] * 4
        assert await owned_rows(app, app.a) == before
