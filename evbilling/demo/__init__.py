"""`make run`: demo data in a migrated database, its credentials, and simulated chargers
beside the server (`evbilling demo` builds the server and runs these steps)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urljoin

import httpx
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.domain import ALL_SCOPES
from evbilling.access.service import create_api_key, ensure_operator
from evbilling.demo.payers import PAY_CONNECTOR, DemoPayers, seed_payers
from evbilling.drivers import service as drivers
from evbilling.drivers.domain import TokenStatus
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.secrets import ApiKeyHasher, hash_secret_async
from evbilling.kit import SystemClock
from evbilling.kit.errors import NotFound
from evbilling.locations import service as locations
from evbilling.simulator import (
    SimulatedStationConfig,
    SimulationSettings,
    rotated,
    run_simulation,
)
from evbilling.stations import service as station_service
from evbilling.tariffs import service as tariffs

STATION_PREFIX = "DEMO-"
# The driver whose card is saved with the sandbox provider (its hosted page, as the driver
# would): the simulated chargers charge with this RFID card, so holds, captures and ledger
# entries appear. The sandbox's public success test card; it never reaches evbilling.
CARD_DRIVER_UID = "04A1B2C3D4"
SANDBOX_SUCCESS_CARD = "4242424242424242"
# (RFID UID, driver, blocked?) — the simulated chargers use the active ones.
TOKENS = (
    ("04A1B2C3D4", "Alice Example", False),
    ("04E5F6A7B8", "Bob Example", False),
    ("04C0FFEE01", "Carol Example", False),
    ("04BADA5500", "Dan Example", False),
    ("04DEADBEEF", "Mallory Example", True),
)


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    stations: tuple[tuple[int, str, str], ...]  # (id, identity, password)
    tokens: tuple[tuple[str, str, bool], ...]
    tariff: str
    api_key: str
    # The driver paying by card: (driver id, name, RFID UID).
    card_driver: tuple[int, str, str] | None = None
    # The app driver, the wallet, the fleet account and the ad-hoc EVSE.
    payers: DemoPayers | None = None


async def _seed(
    db: AsyncSession,
    context: ServiceContext,
    stations: int,
    *,
    app_password: tuple[str, str],
) -> DemoCredentials:
    now = context.clock.now()
    operator_id = await ensure_operator(db=db, name="Demo Charging GmbH", now=now)
    try:
        await station_service.get_station(
            db=db, operator_id=operator_id, station=f"{STATION_PREFIX}1", commands=context.commands
        )
        first_run = False
    except NotFound:
        first_run = True
    location_id = None
    card_driver: tuple[int, str, str] | None = None
    if first_run:
        await tariffs.create_tariff(
            db=db,
            operator_id=operator_id,
            name="Demo standard",
            ocpi=tariffs.simple_tariff_ocpi(
                currency="EUR",
                energy_price_per_kwh=Decimal("0.39"),
                session_fee=Decimal("0.50"),
                vat_percent=Decimal("19"),
            ),
            now=now,
            is_default=True,
        )
        location = await locations.create_location(
            db=db,
            operator_id=operator_id,
            name="Demo depot",
            time_zone="Europe/Berlin",
            address="Hafenstrasse 1",
            city="Hamburg",
            postal_code="20457",
            country="DEU",
            now=now,
        )
        location_id = location.id
        for uid, name, blocked in TOKENS:
            driver = await drivers.create_driver(
                db=db, operator_id=operator_id, name=name, email=None, now=now
            )
            await drivers.create_token(
                db=db,
                operator_id=operator_id,
                uid=uid,
                driver_id=driver.id,
                now=now,
                status=TokenStatus.BLOCKED if blocked else TokenStatus.ACTIVE,
            )
    card_driver = await _card_driver(db, operator_id=operator_id)
    credentials = []
    for index in range(1, stations + 1):
        identity = f"{STATION_PREFIX}{index}"
        try:
            rotated = await station_service.set_station_password(
                db=db, operator_id=operator_id, station=identity, now=now
            )
            credentials.append((rotated.station_id, identity, rotated.password))
        except NotFound:
            if location_id is None:
                page = await locations.list_locations(db=db, operator_id=operator_id)
                location_id = page.rows[0].id
            created = await station_service.create_station(
                db=db,
                operator_id=operator_id,
                identity=identity,
                location_id=location_id,
                now=now,
                commands=context.commands,
                connectors=2,
                max_power_w=22_000,
            )
            credentials.append((created.station.id, identity, created.password))
    payers = await seed_payers(
        db=db,
        operator_id=operator_id,
        first_station_id=credentials[0][0] if credentials else None,
        app_password=app_password[0],
        app_password_hash=app_password[1],
        now=now,
    )
    # Every scope: the demo's operator also reads payments and the ledger.
    key = await create_api_key(
        db=db,
        operator_id=operator_id,
        name="demo",
        now=now,
        hasher=context.api_keys,
        scopes=ALL_SCOPES,
    )
    return DemoCredentials(
        stations=tuple(credentials),
        tokens=TOKENS,
        tariff="Demo standard: 0.39 EUR/kWh + 0.50 EUR per session, 19 % VAT",
        api_key=key.key,
        card_driver=card_driver,
        payers=payers,
    )


async def _card_driver(db: AsyncSession, *, operator_id: int) -> tuple[int, str, str] | None:
    page = await drivers.list_tokens(db=db, operator_id=operator_id, uid=CARD_DRIVER_UID)
    token = page.rows[0] if page.rows else None
    if token is None or token.driver_id is None:
        return None
    driver = await drivers.get_driver(db=db, operator_id=operator_id, driver_id=token.driver_id)
    return driver.id, driver.name, token.uid


async def seed_demo(*, database_url: str, stations: int, api_keys: ApiKeyHasher) -> DemoCredentials:
    """Demo data in a migrated database; its API key is digested with `api_keys`, which must
    be the server's."""
    engine = create_engine(url=database_url)
    context = ServiceContext(
        session_factory=create_session_factory(engine), clock=SystemClock(), api_keys=api_keys
    )
    # A new app password on every start, like the stations'; hashed before the transaction.
    password = secrets.token_urlsafe(12)
    password_hash = await hash_secret_async(password)
    try:
        async with context.unit_of_work() as db:
            credentials = await _seed(db, context, stations, app_password=(password, password_hash))
            await db.commit()
            return credentials
    finally:
        await engine.dispose()


def banner(*, database_url: str, host: str, port: int, credentials: DemoCredentials) -> str:
    base = f"http://{host}:{port}"
    lines = [
        "",
        "evbilling demo",
        f"  database   {database_url}",
        f"  OCPP       ws://{host}:{port}/ocpp/{{station_id}}  (subprotocol ocpp1.6,"
        " HTTP Basic auth)",
        f"  API        {base}/api/v1  (OpenAPI: {base}/api/v1/openapi.json)",
        f"  API key    {credentials.api_key}",
        f"  tariff     {credentials.tariff}",
        "  stations   (id, identity, password — new passwords on every start)",
    ]
    lines += [
        f"             {sid}  {identity}  {password}"
        for sid, identity, password in credentials.stations
    ]
    lines.append("  RFID tokens")
    lines += [
        f"             {uid}  {name}{'  (blocked)' if blocked else ''}"
        for uid, name, blocked in credentials.tokens
    ]
    if credentials.card_driver is not None:
        _, name, uid = credentials.card_driver
        lines += [
            f"  card       {name} ({uid}) gets a sandbox card saved through the provider's",
            "             hosted page; the simulated chargers charge with that RFID card: a hold",
            "             at Authorize, a capture once the car has left, ledger entries for both",
        ]
    if credentials.payers is not None:
        lines += _payers_banner(base, credentials.payers)
    lines += [
        "",
        "  Try:  export EVBILLING_API_KEY=" + credentials.api_key,
        f'        curl -H "Authorization: Bearer $EVBILLING_API_KEY" {base}/api/v1/sessions',
        "        .venv/bin/evbilling session list",
        "  The app (log in, then use the access token):",
        f"        curl -X POST {base}/api/app/v1/login -H 'Content-Type: application/json' \\",
        f'             -d \'{{"email": "{credentials.payers.app_email}", "password": '
        f'"{credentials.payers.app_password}"}}\''
        if credentials.payers is not None
        else "        (no app driver in this database)",
        "  Payments, wallets, fleets and the ledger:",
        "        .venv/bin/evbilling payments list",
        "        .venv/bin/evbilling wallet show 2",
        "        .venv/bin/evbilling postpaid list",
        "        .venv/bin/evbilling ledger trial-balance",
        f'        curl -H "Authorization: Bearer $EVBILLING_API_KEY" {base}/api/v1/payments',
        f'        curl -H "Authorization: Bearer $EVBILLING_API_KEY" {base}/api/v1/ledger/accounts',
        "",
    ]
    return "\n".join(lines)


def _payers_banner(base: str, payers: DemoPayers) -> list[str]:
    wallet_name, wallet_uid, balance = payers.wallet_driver
    fleet, limit, fleet_driver, fleet_uid = payers.fleet
    lines = [
        f"  app        {base}/api/app/v1  (OpenAPI: {base}/api/app/v1/openapi.json)",
        f"             log in as {payers.app_email}  password {payers.app_password}",
        f"             ({payers.app_driver}: her card, her RFID card; new password on every start)",
        f"  wallet     {wallet_name} ({wallet_uid}) pays from a prepaid wallet: {balance}",
        f"  fleet      {fleet}: postpaid, credit limit {limit}; {fleet_driver} ({fleet_uid})",
        "             charges on the account",
    ]
    if payers.pay_evse_uid is not None:
        pay = f"{base}/pay/{payers.pay_evse_uid}"
        lines += [
            f"  pay        {pay}  (QR code: {pay}/qr.png)",
            "             open it in a browser and pay with the sandbox card 4242 4242 4242 4242",
            "             (any future expiry, any CVC); that connector is kept free for it",
        ]
    return lines


async def save_demo_card(*, base_url: str, api_key: str, driver_id: int) -> str:
    """Save the sandbox's success card for the demo driver the way it happens for real: the
    operator starts a card set-up (API), the driver fills in the provider's hosted page, the
    provider sends them back to the server's return page, which stores the token. Nothing
    when the driver has a card already. Returns what was saved ("visa 4242")."""
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0) as http:
        methods = await http.get(f"/api/v1/drivers/{driver_id}/payment-methods", headers=headers)
        methods.raise_for_status()
        if methods.json():
            saved = methods.json()[0]
            return f"{saved['brand']} {saved['last4']} (saved before)"
        started = await http.post(
            f"/api/v1/drivers/{driver_id}/card-setups",
            headers={**headers, "Idempotency-Key": f"demo-card-setup-{uuid.uuid4()}"},
            json={},
        )
        started.raise_for_status()
        page = await http.get(started.json()["url"])
        page.raise_for_status()
        action = re.search(r'action="([^"]+)"', page.text)
        if action is None:
            raise RuntimeError("the sandbox's card page has no form")
        target = urljoin(str(page.url), html.unescape(action.group(1)))
        submitted = await http.post(
            target,
            data={"number": SANDBOX_SUCCESS_CARD, "expiry": "12/34", "cvc": "123"},
            follow_redirects=True,  # to the server's return page, which stores the token
        )
        submitted.raise_for_status()
        methods = await http.get(f"/api/v1/drivers/{driver_id}/payment-methods", headers=headers)
        methods.raise_for_status()
        if not methods.json():
            raise RuntimeError("the card set-up did not store a payment method")
        saved = methods.json()[0]
        return f"{saved['brand']} {saved['last4']}"


async def serve_with_simulated_chargers(
    *,
    make_server: Callable[[], uvicorn.Server],
    ocpp_url: str,
    credentials: DemoCredentials,
    simulate: bool,
) -> None:
    """Serve until stopped; once the server is up, the demo stations charge against it."""
    server = make_server()
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.05)
    simulation: asyncio.Task[object] | None = None
    if server.started and credentials.card_driver is not None:
        base_url = ocpp_url.replace("ws://", "http://", 1).removesuffix("/ocpp")
        driver_id, name, uid = credentials.card_driver
        try:
            card = await save_demo_card(
                base_url=base_url, api_key=credentials.api_key, driver_id=driver_id
            )
            print(f"  card       {name} ({uid}) pays by card: {card}", flush=True)  # noqa: T201
        except (httpx.HTTPError, RuntimeError) as exc:
            print(f"  card       could not save the demo card: {exc}", flush=True)  # noqa: T201
    if simulate and server.started:
        active_tags = [uid for uid, _, blocked in credentials.tokens if not blocked]
        stations = [
            SimulatedStationConfig(
                station_id=identity,
                password=password,
                connectors=2,
                max_power_w=22_000,
                # Each station starts with its own cards, so they rarely collide (ConcurrentTx).
                id_tags=rotated(active_tags, by=2 * index),
                # The ad-hoc EVSE's connector waits for a payer's remote start.
                remote_only=frozenset({PAY_CONNECTOR})
                if index == 0 and credentials.payers and credentials.payers.pay_evse_uid
                else frozenset(),
            )
            for index, (_, identity, password) in enumerate(credentials.stations)
        ]
        simulation = asyncio.create_task(
            run_simulation(
                url=ocpp_url,
                stations=stations,
                # Real time (timestamps never run ahead of the clock), short sessions: a
                # newcomer sees sessions start, meter and get priced within minutes.
                settings=SimulationSettings(
                    sessions_per_station=10_000,
                    time_scale=1.0,
                    meter_interval_s=(10, 20),
                    session_energy_wh=(300, 1_500),
                    pause_between_sessions_s=(5, 30),
                    idle_after_full_s=(10, 60),
                ),
            )
        )
    try:
        await serving
    finally:
        if simulation is not None:
            simulation.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await simulation
