"""`make run`: demo data in a migrated database, its credentials, and simulated chargers
beside the server (`evbilling demo` builds the server and runs these steps)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.service import create_api_key, ensure_operator
from evbilling.drivers import service as drivers
from evbilling.drivers.domain import TokenStatus
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.secrets import ApiKeyHasher
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


async def _seed(db: AsyncSession, context: ServiceContext, stations: int) -> DemoCredentials:
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
    key = await create_api_key(
        db=db, operator_id=operator_id, name="demo", now=now, hasher=context.api_keys
    )
    return DemoCredentials(
        stations=tuple(credentials),
        tokens=TOKENS,
        tariff="Demo standard: 0.39 EUR/kWh + 0.50 EUR per session, 19 % VAT",
        api_key=key.key,
    )


async def seed_demo(*, database_url: str, stations: int, api_keys: ApiKeyHasher) -> DemoCredentials:
    """Demo data in a migrated database; its API key is digested with `api_keys`, which must
    be the server's."""
    engine = create_engine(url=database_url)
    context = ServiceContext(
        session_factory=create_session_factory(engine), clock=SystemClock(), api_keys=api_keys
    )
    try:
        async with context.unit_of_work() as db:
            credentials = await _seed(db, context, stations)
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
    lines += [
        "",
        "  Try:  export EVBILLING_API_KEY=" + credentials.api_key,
        f'        curl -H "Authorization: Bearer $EVBILLING_API_KEY" {base}/api/v1/sessions',
        "        .venv/bin/evbilling session list",
        "",
    ]
    return "\n".join(lines)


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
