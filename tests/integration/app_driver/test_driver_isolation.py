"""Nobody sees what isn't theirs: every driver route, called with driver A's token on driver
B's ids, answers 404 with none of B's data in the body and changes nothing (SQLite and
PostgreSQL). The lists A reads hold none of B's objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from evbilling.models import Evse
from tests.integration.app_driver.driving import (
    DriverApp,
    add_card,
    add_method,
    add_payment,
    add_session,
    owned_rows,
)
from tests.integration.arrange import add_operator, add_station

B_CARD = "B0B0B0B0"


@dataclass(frozen=True)
class Owned:
    """B's objects."""

    running: int  # an active session
    finished: int  # a completed session (with a receipt)
    payment: int
    method: int
    card: int

    def ids(self) -> dict[str, int]:
        return {
            "running": self.running,
            "finished": self.finished,
            "payment": self.payment,
            "method": self.method,
            "card": self.card,
        }


async def arrange_b(app: DriverApp) -> Owned:
    finished = await add_session(app, app.b, total="7.14")
    running = await add_session(app, app.b)
    return Owned(
        running=running,
        finished=finished,
        payment=await add_payment(app, app.b, session_id=finished),
        method=await add_method(app, app.b, token="pm_b_secret"),
        card=await add_card(app, app.b, uid=B_CARD),
    )


# (method, path with {placeholders} of B's ids, JSON body or None)
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/sessions/{running}", None),
    ("GET", "/sessions/{finished}", None),
    ("GET", "/sessions/{running}/live", None),
    ("POST", "/sessions/{running}/stop", None),
    ("GET", "/receipts/{finished}", None),
    ("DELETE", "/payment-methods/{method}", None),
    ("POST", "/payment-methods/{method}/default", None),
    ("DELETE", "/rfid-cards/{card}", None),
]


EVSE_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/evses/DE*OTH*E0001", None),
    ("GET", "/evses/DE*OTH*E0001/quote", None),
    ("GET", "/evses/lookup?code=https://x.example/pay/DE*OTH*E0001", None),
    ("POST", "/charging/start", {"evse_uid": "DE*OTH*E0001"}),
]
LISTS = ["/sessions", "/payments", "/receipts", "/payment-methods", "/rfid-cards"]


class TestDriverIsolation:
    async def test_another_drivers_id_is_not_found_shows_nothing_and_changes_nothing(
        self, app: DriverApp
    ) -> None:
        # Arrange
        owned = await arrange_b(app)
        before = await owned_rows(app, app.b)
        failures: dict[str, str] = {}

        # Act: every route of the table, one after the other (each must leave B as it was).
        for method, path, body in ROUTES:
            response = await app.http.request(
                method,
                "/api/app/v1" + path.format(**owned.ids()),
                headers=app.a.headers,
                json=body,
            )
            text = response.text
            if response.status_code != 404 or response.json().get("status") != 404:
                failures[f"{method} {path}"] = f"{response.status_code}: {text[:200]}"
            elif B_CARD in text or "pm_b_secret" in text or "7.14" in text:
                failures[f"{method} {path}"] = f"B's data in the body: {text[:200]}"
            elif await owned_rows(app, app.b) != before:
                failures[f"{method} {path}"] = "changed B's objects"

        # Assert
        assert failures == {}
        assert app.stations.sent == []

    async def test_lists_hold_none_of_another_drivers_objects(self, app: DriverApp) -> None:
        mine = await add_session(app, app.a, total="1.19")
        owned = await arrange_b(app)
        theirs = set(owned.ids().values()) - {mine}
        leaks: dict[str, str] = {}

        for path in LISTS:
            response = await app.get(app.a, path)
            assert response.status_code == 200, response.text
            body = response.json()
            items = body["items"] if isinstance(body, dict) else body
            found = {item.get("id") for item in items} | {item.get("session_id") for item in items}
            if found & theirs or B_CARD in response.text or "pm_b_secret" in response.text:
                leaks[path] = response.text[:300]

        assert leaks == {}

    async def test_linking_another_drivers_card_takes_nothing_over(self, app: DriverApp) -> None:
        await arrange_b(app)
        before = await owned_rows(app, app.b)

        response = await app.post(app.a, "/rfid-cards", json={"uid": B_CARD, "code": "12345678"})

        assert response.status_code == 422
        assert await owned_rows(app, app.b) == before
        listed = await app.get(app.a, "/rfid-cards")
        assert listed.json() == []

    async def test_another_operators_evse_is_not_found_and_not_started(
        self, app: DriverApp
    ) -> None:
        other = await add_operator(app.context)
        created = await add_station(app.context, other, identity="CP-OTHER")
        async with app.context.unit_of_work() as db:
            await db.execute(
                update(Evse).where(Evse.station_id == created.station.id).values(uid="DE*OTH*E0001")
            )
            await db.commit()
        app.stations.connected.add("CP-OTHER")
        answers = {}

        for method, path, body in EVSE_ROUTES:
            response = await app.http.request(
                method, "/api/app/v1" + path, headers=app.a.headers, json=body
            )
            answers[f"{method} {path}"] = (response.status_code, "CP-OTHER" in response.text)

        assert answers == {f"{m} {p}": (404, False) for m, p, _ in EVSE_ROUTES}
        assert app.stations.sent == []
