"""Composition root: settings -> engine, clock, OCPP gateway -> one ASGI app on one port."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.access import endpoints as access_endpoints
from evbilling.access.caller import get_caller
from evbilling.access.domain import InvalidApiKey
from evbilling.charging import endpoints as charging_endpoints
from evbilling.charging import jobs as charging_jobs
from evbilling.commands import endpoints as commands_endpoints
from evbilling.commands.rotation import PasswordRefused
from evbilling.config import Settings
from evbilling.drivers import endpoints as drivers_endpoints
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.http.addresses import ResolveClientAddress, TrustedProxies
from evbilling.infra.http.app import new_api
from evbilling.infra.http.connections import http_protocol
from evbilling.infra.http.limits import HttpLimits, RequestBodyLimits
from evbilling.infra.http.problems import ProblemRegistry
from evbilling.infra.jobs import PRUNE_KIND, JobRegistry, JobWorker, prune_succeeded_jobs
from evbilling.infra.logging import configure_logging, get_logger
from evbilling.infra.memory import return_large_blocks_to_system
from evbilling.infra.secrets import ApiKeyHasher, WeakPassword, api_key_hasher_for
from evbilling.infra.station_link import CommandRejected, StationNotConnected, StationTimeout
from evbilling.kit import Clock, SystemClock
from evbilling.kit.clock import InvalidTimestamp
from evbilling.ledger import endpoints as ledger_endpoints
from evbilling.locations import endpoints as locations_endpoints
from evbilling.money import CurrencyMismatch, InvalidAmount, InvalidCurrency
from evbilling.ocpp import LoginLimits, LoginThrottle, OcppGateway
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
    access_endpoints.router,
    ledger_endpoints.create_router(caller=get_caller),
)


def job_registry(*, settings: Settings) -> JobRegistry:
    """Every kind of background job and the slice handler that runs it, one line each; a
    recurring kind adds a schedule line (docs/jobs.md)."""
    registry = JobRegistry()
    registry.register(PRUNE_KIND, prune_succeeded_jobs)
    registry.schedule(PRUNE_KIND, every=timedelta(hours=1))
    abandon_after = timedelta(seconds=settings.session_abandon_after_s)
    registry.register(
        charging_jobs.CLOSE_ABANDONED, charging_jobs.close_abandoned(silent_for=abandon_after)
    )
    registry.schedule(charging_jobs.CLOSE_ABANDONED, every=timedelta(minutes=5))
    registry.register(charging_jobs.RETRY_PRICING, charging_jobs.retry_pricing)
    registry.schedule(charging_jobs.RETRY_PRICING, every=timedelta(minutes=15))
    return registry


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
        PasswordRefused,
        status=409,
        title="Station refused the new password",
        kind="station-refused",
        extra=_refused_status,
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


def _refused_status(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, PasswordRefused)
    return {"station_status": exc.status}


def _ocpp_error(exc: Exception) -> dict[str, Any]:
    assert isinstance(exc, CommandRejected)
    return {"ocpp_error": exc.code, "ocpp_description": exc.description}


def create_api(*, context: ServiceContext) -> FastAPI:
    """The operator REST API mounted at /api/v1: every slice's router, problem documents."""
    api = new_api(
        title="evbilling operator API",
        description=(
            "Stations, tokens, tariffs and priced charging sessions. Authenticate with an API "
            "key (`evbilling apikey create`, `POST /api-keys`) as `Authorization: Bearer "
            "<key>`. Errors are RFC 9457 problem documents."
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
    jobs: JobWorker | None = None


def create_app(
    *,
    context: ServiceContext,
    heartbeat_interval_s: int = 300,
    command_timeout_s: float = 30.0,
    auth_failures_allowed: int = 5,
    auth_failure_window_s: float = 60.0,
    auth_lockout_s: float = 1.0,
    auth_lockout_max_s: float = 900.0,
    auth_address_failures_allowed: int = 100,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
    jobs: JobWorker | None = None,
    limits: HttpLimits = HttpLimits(),
    proxies: TrustedProxies = TrustedProxies(),
) -> tuple[FastAPI, OcppGateway]:
    """The one ASGI app: /ocpp/{station_id}, /api/v1, /healthz."""
    gateway = OcppGateway(
        context=context,
        heartbeat_interval_s=heartbeat_interval_s,
        command_timeout_s=command_timeout_s,
        throttle=LoginThrottle(
            limits=LoginLimits(
                pair_failures=auth_failures_allowed,
                lockout_s=auth_lockout_s,
                lockout_max_s=auth_lockout_max_s,
                address_failures=auth_address_failures_allowed,
                address_window_s=auth_failure_window_s,
            )
        ),
    )
    context.commands = gateway

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The job worker runs while the app serves and stops before the engine is disposed.
        async with contextlib.nullcontext() if jobs is None else jobs.running():
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
    # Pure ASGI, outermost last: the client's address first, then the body limits.
    app.add_middleware(
        RequestBodyLimits,
        max_body_bytes=limits.max_body_bytes,
        body_timeout_s=limits.body_timeout_s,
    )
    app.add_middleware(ResolveClientAddress, proxies=proxies)

    @app.get("/healthz", include_in_schema=False)
    async def health() -> dict[str, object]:
        return {"status": "ok", "connected_stations": gateway.connected_count()}

    return app, gateway


def api_key_hasher(settings: Settings) -> ApiKeyHasher:
    """The API-key digests of this installation (EVBILLING_API_KEY_SECRET, or the secret a
    SQLite database keeps beside it); read on first use."""
    secret = settings.api_key_secret
    return api_key_hasher_for(
        configured=secret.get_secret_value() if secret is not None else None,
        database_url=settings.database_url,
    )


def build_application(*, settings: Settings, clock: Clock | None = None) -> Application:
    api_keys = api_key_hasher(settings)
    api_keys.load()  # a server without its secret does not start
    engine = create_engine(url=settings.database_url)
    context = ServiceContext(
        session_factory=create_session_factory(engine),
        clock=clock or SystemClock(),
        api_keys=api_keys,
    )
    jobs = (
        JobWorker(
            context=context,
            registry=job_registry(settings=settings),
            batch_size=settings.jobs_batch_size,
            poll_interval=timedelta(seconds=settings.jobs_poll_interval_s),
        )
        if settings.jobs_enabled
        else None
    )
    app, gateway = create_app(
        context=context,
        heartbeat_interval_s=settings.heartbeat_interval_s,
        command_timeout_s=settings.command_timeout_s,
        auth_failures_allowed=settings.auth_failures_allowed,
        auth_failure_window_s=settings.auth_failure_window_s,
        auth_lockout_s=settings.auth_lockout_s,
        auth_lockout_max_s=settings.auth_lockout_max_s,
        auth_address_failures_allowed=settings.auth_address_failures_allowed,
        on_shutdown=engine.dispose,
        jobs=jobs,
        limits=http_limits(settings),
        proxies=trusted_proxies(settings),
    )
    return Application(app=app, engine=engine, gateway=gateway, context=context, jobs=jobs)


def http_limits(settings: Settings) -> HttpLimits:
    return HttpLimits(
        max_body_bytes=settings.http_max_body_bytes,
        body_timeout_s=settings.http_body_timeout_s,
        max_header_bytes=settings.http_max_header_bytes,
        header_timeout_s=settings.http_header_timeout_s,
        max_connections_per_address=settings.max_connections_per_address,
    )


def trusted_proxies(settings: Settings) -> TrustedProxies:
    return TrustedProxies.parse(settings.trusted_proxies, header=settings.trusted_proxy_header)


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
        # Head time-out and size, connections per address (infra/http/connections.py).
        http=http_protocol(limits=http_limits(settings), proxies=trusted_proxies(settings)),
        # EdgeWebSocketProtocol, keeping less per idle connection (ocpp/ws_protocol.py).
        ws=OcppWebSocketProtocol,
        # Forwarding headers are read by ResolveClientAddress, from trusted proxies only.
        proxy_headers=False,
        forwarded_allow_ips=[],
        ws_ping_interval=60,
        ws_ping_timeout=60,
        ws_max_size=settings.ocpp_max_frame_bytes,
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
