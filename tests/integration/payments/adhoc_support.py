"""Arrange steps of ad-hoc payment tests: a priced EVSE with a uid, a station port that
answers RemoteStart as told, and the guest's steps through the pay pages (in-process)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select, update

from evbilling.infra.context import ServiceContext
from evbilling.infra.station_link import StationTimeout
from evbilling.models import AdhocPayment, Driver, Evse, Token
from tests.factories import create_station, create_tariff

EVSE_UID = "DE*EVB*E1001"
OTHER_EVSE_UID = "DE*EVB*E1002"

# 0.36/kWh, 0.60/h charging, 1.20 per session, 6.00/h parking, all excl. 20 % VAT.
FULL_TARIFF: dict[str, Any] = {
    "country_code": "DE",
    "party_id": "EVB",
    "id": "ADHOC",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.30"), "vat": Decimal(20), "step_size": 1},
                {"type": "TIME", "price": Decimal("0.50"), "vat": Decimal(20), "step_size": 60},
                {"type": "FLAT", "price": Decimal("1.00"), "vat": Decimal(20), "step_size": 1},
                {
                    "type": "PARKING_TIME",
                    "price": Decimal("5.00"),
                    "vat": Decimal(20),
                    "step_size": 60,
                },
            ]
        }
    ],
    "last_updated": "2026-01-01T00:00:00Z",
}


async def priced_evse(
    context: ServiceContext,
    *,
    operator_id: int,
    identity: str = "CP-1",
    uids: tuple[str | None, str | None] = (EVSE_UID, OTHER_EVSE_UID),
) -> int:
    """A station with two EVSEs (by default uids EVSE_UID, OTHER_EVSE_UID) under
    FULL_TARIFF."""
    tariff_id = await create_tariff(context, operator_id=operator_id, ocpi=FULL_TARIFF)
    station_id = await create_station(
        context, operator_id=operator_id, identity=identity, tariff_id=tariff_id
    )
    async with context.unit_of_work() as db:
        for connector, uid in enumerate(uids, start=1):
            await db.execute(
                update(Evse)
                .where(Evse.station_id == station_id, Evse.connector_id == connector)
                .values(uid=uid, status="Available")
            )
        await db.commit()
    return station_id


@dataclass
class ScriptedStations:
    """A station link that records what is sent and answers RemoteStart with `answer`
    (None: it never answers in time)."""

    answer: str | None = "Accepted"
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def is_connected(self, station_identity: str) -> bool:
        return True

    async def send(
        self, *, station_identity: str, action: str, payload: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        self.sent.append((action, payload))
        if self.answer is None:
            raise StationTimeout(f"station {station_identity} did not answer")
        return {"status": self.answer}


@dataclass(frozen=True)
class GuestPayment:
    live_path: str
    start_path: str


async def pay_with_card(
    http: httpx.AsyncClient, *, number: str, email: str = "", evse_uid: str = EVSE_UID
) -> GuestPayment:
    """The guest's steps: Pay and charge -> the provider's card page -> back -> start."""
    begun = await http.post(f"/pay/{evse_uid}", data={"email": email})
    assert begun.status_code == 303, begun.text
    hosted = urlsplit(begun.headers["location"])
    card_page = await http.get(f"{hosted.path}?{hosted.query}")
    assert card_page.status_code == 200, card_page.text
    action = re.search(r'action="([^"]+)"', card_page.text)
    assert action is not None
    target = urlsplit(action.group(1).replace("&amp;", "&"))
    submitted = await http.post(
        f"{target.path}?{target.query}", data={"number": number, "expiry": "12/34", "cvc": "123"}
    )
    assert submitted.status_code == 303, submitted.text
    back = urlsplit(submitted.headers["location"])
    returned = await http.get(f"{back.path}?{back.query}")
    assert returned.status_code == 200, returned.text
    start = re.search(r'action="([^"]+)"', returned.text)
    assert start is not None
    started = await http.post(start.group(1))
    assert started.status_code == 303, started.text
    return GuestPayment(live_path=started.headers["location"], start_path=start.group(1))


async def counts(context: ServiceContext) -> tuple[int, int, int]:
    """(drivers, tokens, ad-hoc payments)."""
    async with context.unit_of_work() as db:
        return (
            (await db.execute(select(func.count()).select_from(Driver))).scalar_one(),
            (await db.execute(select(func.count()).select_from(Token))).scalar_one(),
            (await db.execute(select(func.count()).select_from(AdhocPayment))).scalar_one(),
        )
