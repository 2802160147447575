"""The driver app as its route tests meet it: the whole server app in-process (the sandbox
provider mounted), a command port standing in for connected stations, two signed-in drivers
of one operator, a priced station with an EVSE ID, and rows made directly for what a driver
owns (sessions, payments, saved cards, RFID cards)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from evbilling.infra.context import ServiceContext
from evbilling.infra.station_link import StationNotConnected, StationTimeout
from evbilling.kit import FixedClock
from evbilling.models import Evse, Payment, PaymentMethod, Token
from tests.app_support import SignedInDriver, signed_in_driver
from tests.integration.payments.support import (
    Payments,
    add_site,
    complete_session,
    running_payments,
    start_session,
)

EVSE_UID = "DE*EVB*E0001"
APP = "/api/app/v1"


@dataclass
class FakeStations:
    """Stations as the app's commands meet them: connected ones answer `answer` (or time
    out), and every command sent is kept."""

    connected: set[str] = field(default_factory=lambda: {"CP-1"})
    answer: dict[str, Any] = field(default_factory=lambda: {"status": "Accepted"})
    times_out: bool = False
    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def is_connected(self, station_identity: str) -> bool:
        return station_identity in self.connected

    async def send(
        self, *, station_identity: str, action: str, payload: dict[str, Any], timeout_s: float
    ) -> dict[str, Any]:
        if station_identity not in self.connected:
            raise StationNotConnected(f"station {station_identity} is not connected")
        self.sent.append((station_identity, action, payload))
        if self.times_out:
            raise StationTimeout(f"station {station_identity} did not answer")
        return self.answer


@dataclass
class DriverApp:
    payments: Payments
    http: httpx.AsyncClient  # the whole site; app routes under APP
    stations: FakeStations
    a: SignedInDriver
    b: SignedInDriver
    station_id: int

    @property
    def context(self) -> ServiceContext:
        return self.payments.context

    @property
    def operator_id(self) -> int:
        return self.payments.operator_id

    async def get(self, driver: SignedInDriver, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(APP + path, headers=driver.headers, **kwargs)

    async def post(self, driver: SignedInDriver, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.post(APP + path, headers=driver.headers, **kwargs)

    async def delete(self, driver: SignedInDriver, path: str) -> httpx.Response:
        return await self.http.delete(APP + path, headers=driver.headers)


def app_api_of(app: FastAPI) -> FastAPI:
    for route in app.routes:
        if getattr(route, "path", None) == APP:
            mounted: FastAPI = route.app  # type: ignore[attr-defined]
            return mounted
    raise AssertionError("the app API is not mounted")


@asynccontextmanager
async def driver_app(
    *, context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int
) -> AsyncIterator[DriverApp]:
    async with running_payments(
        context=context, clock=clock, tmp_path=tmp_path, operator_id=operator_id
    ) as payments:
        station_id, _ = await add_site(context, operator_id)
        async with context.unit_of_work() as db:
            await db.execute(update(Evse).where(Evse.station_id == station_id).values(uid=EVSE_UID))
            await db.commit()
        a = await signed_in_driver(context=context, operator_id=operator_id, email="a@example.com")
        b = await signed_in_driver(context=context, operator_id=operator_id, email="b@example.com")
        stations = FakeStations()
        context.commands = stations  # after create_app, which set the OCPP gateway
        app_api = app_api_of(payments.http._transport.app)  # type: ignore[attr-defined]
        app_api.state.live_interval_s = 0.01
        app_api.state.live_max_s = 0.05
        yield DriverApp(
            payments=payments,
            http=payments.http,
            stations=stations,
            a=a,
            b=b,
            station_id=station_id,
        )


async def add_session(app: DriverApp, driver: SignedInDriver, *, total: str | None = None) -> int:
    """A session of the driver: active, or completed at `total` EUR."""
    session_id = await start_session(
        app.context,
        operator_id=app.operator_id,
        station_id=app.station_id,
        driver_id=driver.driver_id,
    )
    if total is not None:
        await complete_session(app.context, session_id=session_id, total=total)
    return session_id


async def add_method(app: DriverApp, driver: SignedInDriver, *, token: str) -> int:
    now = app.context.clock.now()
    async with app.context.unit_of_work() as db:
        row = PaymentMethod(
            operator_id=app.operator_id,
            driver_id=driver.driver_id,
            provider="sandbox",
            provider_customer_id=f"cus_{driver.driver_id}",
            provider_method_id=token,
            brand="visa",
            last4="4242",
            exp_month=12,
            exp_year=2034,
            is_default=True,
            created_at=now,
        )
        db.add(row)
        await db.commit()
        return row.id


async def add_payment(app: DriverApp, driver: SignedInDriver, *, session_id: int) -> int:
    now = app.context.clock.now()
    async with app.context.unit_of_work() as db:
        row = Payment(
            operator_id=app.operator_id,
            driver_id=driver.driver_id,
            station_id=app.station_id,
            session_id=session_id,
            provider="sandbox",
            provider_customer_id=f"cus_{driver.driver_id}",
            provider_method_id=f"pm_{driver.driver_id}",
            off_session=True,
            reference=f"hold:test:{session_id}",
            currency="EUR",
            requested_minor=5000,
            authorized_minor=5000,
            captured_minor=0,
            refunded_minor=0,
            margin_minor=100,
            status="authorized",
            created_at=now,
            updated_at=now,
        )
        db.add(row)
        await db.commit()
        return row.id


async def add_card(app: DriverApp, driver: SignedInDriver, *, uid: str) -> int:
    now = app.context.clock.now()
    async with app.context.unit_of_work() as db:
        row = Token(
            operator_id=app.operator_id,
            uid=uid,
            type="rfid",
            status="active",
            driver_id=driver.driver_id,
            created_at=now,
            updated_at=now,
        )
        db.add(row)
        await db.commit()
        return row.id


async def owned_rows(app: DriverApp, driver: SignedInDriver) -> dict[str, list[Any]]:
    """Everything of the driver a route could change, as plain values."""
    from evbilling.models import ChargingSession

    async with app.context.unit_of_work() as db:
        sessions = await db.execute(
            select(ChargingSession.id, ChargingSession.status).where(
                ChargingSession.driver_id == driver.driver_id
            )
        )
        methods = await db.execute(
            select(PaymentMethod.id, PaymentMethod.is_default).where(
                PaymentMethod.driver_id == driver.driver_id
            )
        )
        tokens = await db.execute(
            select(Token.id, Token.uid, Token.status, Token.driver_id).where(
                Token.driver_id == driver.driver_id
            )
        )
        payments = await db.execute(
            select(Payment.id, Payment.status).where(Payment.driver_id == driver.driver_id)
        )
        return {
            "sessions": sorted(map(tuple, sessions.all())),
            "methods": sorted(map(tuple, methods.all())),
            "tokens": sorted(map(tuple, tokens.all())),
            "payments": sorted(map(tuple, payments.all())),
        }
