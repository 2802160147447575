"""Composition root: settings -> engine, clock, OCPP gateway -> one ASGI app on one port."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.access.service import InvalidApiKey
from evbilling.charging import endpoints as charging_endpoints
from evbilling.commands import endpoints as commands_endpoints
from evbilling.config import Settings
from evbilling.drivers import endpoints as drivers_endpoints
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.http.app import new_api
from evbilling.infra.http.problems import ProblemRegistry
from evbilling.infra.logging import configure_logging, get_logger
from evbilling.infra.memory import return_large_blocks_to_system
from evbilling.infra.secrets import WeakPassword
from evbilling.infra.station_link import CommandRejected, StationNotConnected, StationTimeout
from evbilling.kit import Clock, SystemClock
from evbilling.kit.clock import InvalidTimestamp
from evbilling.locations import endpoints as locations_endpoints
from evbilling.money import CurrencyMismatch, InvalidAmount, InvalidCurrency
from evbilling.ocpp import LoginThrottle, OcppGateway
from evbilling.ocpp.ws_protocol import OcppWebSocketProtocol
from evbilling.rating import endpoints as rating_endpoints
from evbilling.rating.engine import (
    InvalidCdr,
    InvalidMeterData,
    InvalidSession,
    InvalidTimeZone,
    TariffNotApplicable,
)
from evbilling.stations import endpoints as stations_endpoints
from evbilling.tariffs import endpoints as tariffs_endpoints
from evbilling.tariffs.domain import InvalidTariff

_log = get_logger(__name__)

# Every slice's operator API router, mounted under /api/v1 in this order.
ROUTERS = (
    tariffs_endpoints.router,
    locations_endpoints.router,
    stations_endpoints.router,
    drivers_endpoints.router,
    charging_endpoints.router,
    rating_endpoints.router,
    commands_endpoints.router,
)


def problem_registry() -> ProblemRegistry:
    """Every named failure a client can cause, mapped to HTTP once. Anything else is a 500."""
    registry = ProblemRegistry()
    registry.register(InvalidApiKey, status=401, title="Unauthorized", kind="unauthorized")
    registry.register(
        StationNotConnected, status=409, title="Station not connected", kind="station-offline"
    )
    registry.register(
        StationTimeout, status=504, title="Station did not answer", kind="station-timeout"
    )
    registry.register(
        CommandRejected,
        status=502,
        title="Station answered with an error",
        kind="station-error",
        extra=_ocpp_error,
    )
    for client_error in (
        InvalidCurrency,
        CurrencyMismatch,
        InvalidAmount,
        InvalidTimestamp,
        WeakPassword,
        InvalidTariff,
        InvalidCdr,
        InvalidSession,
        InvalidTimeZone,
        InvalidMeterData,
        TariffNotApplicable,
    ):
        registry.register_validation(client_error, title=client_error.__name__)
    return registry


def _ocpp_error(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, CommandRejected)
    return {"ocpp_error": exc.code, "ocpp_description": exc.description}


def create_api(*, context: ServiceContext) -> FastAPI:
    """The operator REST API mounted at /api/v1: every slice's router, problem documents."""
    api = new_api(
        title="evbilling operator API",
        description=(
            "Stations, tokens, tariffs and priced charging sessions. Authenticate with an API "
            "key (`evbilling apikey create`) as `Authorization: Bearer <key>`. Errors are "
            "RFC 9457 problem documents."
        ),
        context=context,
        registry=problem_registry(),
    )
    for router in ROUTERS:
        api.include_router(router)
    return api


@dataclass(slots=True)
class Application:
    app: FastAPI
    engine: AsyncEngine
    gateway: OcppGateway
    context: ServiceContext


def create_app(
    *,
    context: ServiceContext,
    heartbeat_interval_s: int = 300,
    command_timeout_s: float = 30.0,
    auth_failures_allowed: int = 5,
    auth_failure_window_s: float = 60.0,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> tuple[FastAPI, OcppGateway]:
    """The one ASGI app: /ocpp/{station_id}, /api/v1, /healthz."""
    gateway = OcppGateway(
        context=context,
        heartbeat_interval_s=heartbeat_interval_s,
        command_timeout_s=command_timeout_s,
        throttle=LoginThrottle(
            allowed_failures=auth_failures_allowed, window_s=auth_failure_window_s
        ),
    )
    context.commands = gateway

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await gateway.close_all()
        if on_shutdown is not None:
            await on_shutdown()

    app = FastAPI(
        title="evbilling", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.mount("/api/v1", create_api(context=context))
    # Starlette's plain WebSocket route, not FastAPI's: the endpoint takes no dependencies, and
    # FastAPI's would keep two exit stacks and its dependency results alive per connection.
    app.router.add_websocket_route("/ocpp/{station_id}", gateway.endpoint)

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, object]:
        return {"status": "ok", "connected_stations": gateway.connected_count()}

    return app, gateway


def build_application(*, settings: Settings, clock: Clock | None = None) -> Application:
    engine = create_engine(url=settings.database_url)
    context = ServiceContext(
        session_factory=create_session_factory(engine), clock=clock or SystemClock()
    )
    app, gateway = create_app(
        context=context,
        heartbeat_interval_s=settings.heartbeat_interval_s,
        command_timeout_s=settings.command_timeout_s,
        auth_failures_allowed=settings.auth_failures_allowed,
        auth_failure_window_s=settings.auth_failure_window_s,
        on_shutdown=engine.dispose,
    )
    return Application(app=app, engine=engine, gateway=gateway, context=context)


def configure_logging_from(settings: Settings) -> None:
    key = settings.log_pseudonym_key
    configure_logging(
        level=settings.log_level,
        pseudonym_key=key.get_secret_value().encode() if key is not None else None,
        json_lines=settings.log_json,
    )


def uvicorn_config(*, application: Application, settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        application.app,
        host=settings.host,
        port=settings.port,
        log_level=None,  # levels are set by configure_logging
        access_log=False,
        # uvicorn's websockets-sansio protocol, keeping less per idle connection.
        ws=OcppWebSocketProtocol,
        ws_ping_interval=60,
        ws_ping_timeout=60,
        ws_max_size=1 << 20,
        # Chargers rarely negotiate compression; compressing every small frame costs CPU.
        ws_per_message_deflate=False,
        lifespan="on",
        # Our logging configuration (configure_logging) applies to uvicorn's loggers too.
        log_config=None,
    )


def tune_garbage_collector() -> None:
    """Objects alive after start-up (modules, compiled statements, validators) are permanent:
    freeze them so the collector stops rescanning them, and collect young objects less often
    (a busy OCPP server allocates many short-lived ones)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def serve(*, settings: Settings) -> None:
    configure_logging_from(settings)
    tune_garbage_collector()
    return_large_blocks_to_system()  # argon2's 19 MiB per login (see infra/memory.py)
    application = build_application(settings=settings)
    _log.info("server.starting", host=settings.host, port=settings.port)
    uvicorn.Server(uvicorn_config(application=application, settings=settings)).run()
