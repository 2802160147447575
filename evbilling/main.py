"""Composition root: settings -> engine, clock, OCPP gateway -> one ASGI app on one port."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.access import endpoints as access_endpoints
from evbilling.access.caller import get_caller
from evbilling.app import jobs as app_jobs
from evbilling.app.api import APP_PREFIX, create_app_api
from evbilling.app.login_throttle import AppLoginLimits
from evbilling.charging import endpoints as charging_endpoints
from evbilling.charging import events as charging_events
from evbilling.charging import jobs as charging_jobs
from evbilling.commands import endpoints as commands_endpoints
from evbilling.config import Settings
from evbilling.drivers import endpoints as drivers_endpoints
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.http.addresses import ResolveClientAddress, TrustedProxies
from evbilling.infra.http.app import new_api
from evbilling.infra.http.connections import http_protocol
from evbilling.infra.http.idempotency import (
    PRUNE_KIND as PRUNE_IDEMPOTENCY_KEYS,
)
from evbilling.infra.http.idempotency import (
    IdempotencyKeys,
    prune_idempotency_keys,
)
from evbilling.infra.http.limits import HttpLimits, RequestBodyLimits
from evbilling.infra.jobs import PRUNE_KIND, JobRegistry, JobWorker, prune_succeeded_jobs
from evbilling.infra.logging import get_logger
from evbilling.infra.mail import DELIVER_KIND as MAIL_DELIVER
from evbilling.infra.mail import Mailer, deliver_mail
from evbilling.infra.memory import return_large_blocks_to_system
from evbilling.kit import Clock, SystemClock
from evbilling.ledger import endpoints as ledger_endpoints
from evbilling.locations import endpoints as locations_endpoints
from evbilling.ocpp import LoginLimits, LoginThrottle, OcppGateway
from evbilling.ocpp import jobs as ocpp_jobs
from evbilling.ocpp.ws_protocol import OcppWebSocketProtocol
from evbilling.payments import choice_endpoints, receipt_page, receipts
from evbilling.payments import endpoints as payments_endpoints
from evbilling.payments import jobs as payments_jobs
from evbilling.payments.domain import HoldPolicy
from evbilling.payments.providers import (
    PaymentsRuntime,
    process_payments,
    server_payments,
)
from evbilling.payments.psp import PaymentProvider
from evbilling.postpaid import endpoints as postpaid_endpoints
from evbilling.postpaid import jobs as postpaid_jobs
from evbilling.problems import problem_registry
from evbilling.rating import endpoints as rating_endpoints
from evbilling.stations import endpoints as stations_endpoints
from evbilling.tariffs import endpoints as tariffs_endpoints
from evbilling.wallets import endpoints as wallets_endpoints
from evbilling.wallets import jobs as wallets_jobs
from evbilling.wallets.domain import WalletLimits
from evbilling.web import pages as web_pages
from evbilling.wiring import (
    api_key_hasher,
    app_login_limits,
    configure_logging_from,
    hold_policy,
    http_limits,
    mailer_of,
    provider_settings,
    public_base_url,
    trusted_proxies,
    wallet_limits_of,
)

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
    payments_endpoints.router,
    choice_endpoints.router,
    postpaid_endpoints.router,
    wallets_endpoints.router,
    ledger_endpoints.create_router(caller=get_caller),
)

# The money-moving routes, full paths: an Idempotency-Key makes a retry of one safe.
IDEMPOTENT_ROUTES: tuple[str, ...] = (
    payments_endpoints.IDEMPOTENT_ROUTES + wallets_endpoints.IDEMPOTENT_ROUTES
)


def job_registry(
    *,
    settings: Settings,
    provider: PaymentProvider | None = None,
    mailer: Mailer | None = None,
) -> JobRegistry:
    """Every kind of background job and the slice handler that runs it, one line each; a
    recurring kind adds a schedule line (docs/jobs.md). `provider`: the server's payment
    provider (a command opens its own, `process_payments`); `mailer`: where the mail outbox
    delivers (default: as the settings say)."""
    registry = JobRegistry()
    registry.register(PRUNE_KIND, prune_succeeded_jobs)
    registry.schedule(PRUNE_KIND, every=timedelta(hours=1))
    registry.register(PRUNE_IDEMPOTENCY_KEYS, prune_idempotency_keys)
    registry.schedule(PRUNE_IDEMPOTENCY_KEYS, every=timedelta(hours=1))
    abandon_after = timedelta(seconds=settings.session_abandon_after_s)
    registry.register(
        charging_jobs.CLOSE_ABANDONED, charging_jobs.close_abandoned(silent_for=abandon_after)
    )
    registry.schedule(charging_jobs.CLOSE_ABANDONED, every=timedelta(minutes=5))
    registry.register(charging_jobs.RETRY_PRICING, charging_jobs.retry_pricing)
    registry.schedule(charging_jobs.RETRY_PRICING, every=timedelta(minutes=15))
    idle_cap = timedelta(seconds=settings.session_idle_cap_s)
    registry.register(charging_jobs.COMPLETE_IDLE, charging_jobs.complete_idle(idle_cap=idle_cap))
    registry.schedule(charging_jobs.COMPLETE_IDLE, every=timedelta(minutes=5))
    registry.register_standalone(
        charging_events.SESSION_LIMIT_REACHED,
        ocpp_jobs.stop_at_spending_limit(timeout_s=settings.command_timeout_s),
    )
    psp = (
        provider
        or process_payments(config=provider_settings(settings), clock=SystemClock()).provider
    )
    settle = payments_jobs.settle_session(
        provider=psp,
        max_failures=settings.capture_max_failures,
        capture_margin=timedelta(seconds=settings.capture_margin_s),
    )
    registry.register_standalone(payments_jobs.SESSION_COMPLETED, settle)
    registry.register_standalone(
        payments_jobs.RELEASE_KIND, payments_jobs.release_hold(provider=psp)
    )
    registry.register_standalone(
        payments_jobs.REFUND_KIND, payments_jobs.finish_refund(provider=psp)
    )
    registry.register(
        payments_jobs.SWEEP_KIND, payments_jobs.sweep_holds(policy=hold_policy(settings))
    )
    registry.schedule(payments_jobs.SWEEP_KIND, every=timedelta(minutes=5))
    registry.register_standalone(
        payments_jobs.RECONCILE_KIND, payments_jobs.reconcile_nightly(provider=psp)
    )
    registry.schedule(payments_jobs.RECONCILE_KIND, every=timedelta(days=1))
    registry.register_standalone(
        payments_jobs.SETTLE_TOPUPS_KIND, payments_jobs.settle_topups(provider=psp)
    )
    registry.schedule(payments_jobs.SETTLE_TOPUPS_KIND, every=timedelta(minutes=5))
    registry.register_standalone(
        payments_jobs.SETTLE_POSTPAID_KIND,
        payments_jobs.settle_postpaid_card_payments(provider=psp),
    )
    registry.schedule(payments_jobs.SETTLE_POSTPAID_KIND, every=timedelta(minutes=5))
    registry.register(postpaid_jobs.STATEMENTS_KIND, postpaid_jobs.issue_statements)
    registry.schedule(postpaid_jobs.STATEMENTS_KIND, every=timedelta(days=1))
    registry.register(postpaid_jobs.RELEASE_KIND, postpaid_jobs.release_unattached)
    registry.schedule(postpaid_jobs.RELEASE_KIND, every=timedelta(minutes=15))
    registry.register_standalone(
        payments_jobs.ADHOC_RECEIPTS_KIND,
        payments_jobs.mail_adhoc_receipts(public_base_url=public_base_url(settings)),
    )
    registry.schedule(payments_jobs.ADHOC_RECEIPTS_KIND, every=timedelta(minutes=1))
    registry.register_standalone(MAIL_DELIVER, deliver_mail(mailer or mailer_of(settings)))
    registry.register(app_jobs.PRUNE_TOKENS, app_jobs.prune_tokens)
    registry.schedule(app_jobs.PRUNE_TOKENS, every=timedelta(hours=6))
    registry.register(wallets_jobs.SWEEP_KIND, wallets_jobs.sweep())
    registry.schedule(wallets_jobs.SWEEP_KIND, every=timedelta(minutes=5))
    return registry


def create_api(
    *,
    context: ServiceContext,
    payments: PaymentsRuntime | None = None,
    wallet_limits: WalletLimits = WalletLimits(),
) -> FastAPI:
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
    _payments_edge(api, payments)
    api.state.wallet_limits = wallet_limits
    return api


def _payments_edge(app: FastAPI, payments: PaymentsRuntime | None) -> None:
    if payments is not None:
        app.state.payments = payments_endpoints.PaymentsEdge(
            provider=payments.provider, public_base_url=payments.public_base_url
        )


def _payment_sites(
    app: FastAPI, *, context: ServiceContext, payments: PaymentsRuntime | None
) -> None:
    """/webhooks/{provider} and /payments/card-setups/return, and the sandbox when mounted."""
    if payments is None:
        return
    for prefix, router in (
        (payments_endpoints.WEBHOOKS_PREFIX, payments_endpoints.webhook_router),
        (payments_endpoints.PAGES_PREFIX, payments_endpoints.pages_router),
    ):
        site = new_api(
            title="evbilling", description="", context=context, registry=problem_registry()
        )
        site.openapi_url = None
        site.include_router(router)
        _payments_edge(site, payments)
        app.mount(prefix, site)
    payments.attach(app)


def _receipt_pages(app: FastAPI, *, context: ServiceContext) -> None:
    """/receipts/{token}: the public receipt of a finished session."""
    site = new_api(title="evbilling", description="", context=context, registry=problem_registry())
    site.openapi_url = None
    site.include_router(receipt_page.router)
    app.mount(receipts.RECEIPT_PATH, site)


@dataclass(slots=True)
class Application:
    app: FastAPI
    engine: AsyncEngine
    gateway: OcppGateway
    context: ServiceContext
    jobs: JobWorker | None = None
    payments: PaymentsRuntime | None = None


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
    payments: PaymentsRuntime | None = None,
    holds: HoldPolicy = HoldPolicy(),
    wallet_limits: WalletLimits = WalletLimits(),
    app_limits: AppLoginLimits | None = None,
) -> tuple[FastAPI, OcppGateway]:
    """The one ASGI app: /ocpp/{station_id}, /api/v1, /api/app/v1, /healthz."""
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
        # Card holds at Authorize / StartTransaction with the server's provider.
        payment_provider=payments.provider if payments is not None else None,
        hold_policy=holds,
    )
    context.commands = gateway

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The job worker runs while the app serves and stops before the engine is disposed.
        async with contextlib.nullcontext() if jobs is None else jobs.running():
            yield
        await gateway.close_all()
        if payments is not None:
            await payments.close()
        if on_shutdown is not None:
            await on_shutdown()

    app = FastAPI(
        title="evbilling", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.mount(
        "/api/v1", create_api(context=context, payments=payments, wallet_limits=wallet_limits)
    )
    app_api = create_app_api(
        context=context, payments=payments, limits=app_limits, registry=problem_registry()
    )
    app_api.state.wallet_limits = wallet_limits
    # The quote shows the hold the charger edge will place (EVBILLING_HOLD_*).
    app_api.state.hold_policy = holds
    app.mount(APP_PREFIX, app_api)
    _payment_sites(app, context=context, payments=payments)
    _receipt_pages(app, context=context)
    # The guest's pay pages (ad-hoc payment at an EVSE, its QR code) and their static files.
    app.mount(
        web_pages.PREFIX,
        web_pages.create_pay_site(
            context=context, payments=payments, policy=holds, command_timeout_s=command_timeout_s
        ),
    )
    # Starlette's plain WebSocket route, not FastAPI's: the endpoint takes no dependencies, and
    # FastAPI's would keep two exit stacks and its dependency results alive per connection.
    app.router.add_websocket_route("/ocpp/{station_id}", gateway.endpoint)
    # Pure ASGI, outermost last: the client's address first, then the body limits, then
    # idempotency keys (on a body already bounded).
    app.add_middleware(IdempotencyKeys, context=context, routes=IDEMPOTENT_ROUTES)
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


def build_application(*, settings: Settings, clock: Clock | None = None) -> Application:
    api_keys = api_key_hasher(settings)
    api_keys.load()  # a server without its secret does not start
    engine = create_engine(url=settings.database_url)
    context = ServiceContext(
        session_factory=create_session_factory(engine),
        clock=clock or SystemClock(),
        api_keys=api_keys,
    )
    payments = server_payments(config=provider_settings(settings), clock=context.clock)
    jobs = (
        JobWorker(
            context=context,
            registry=job_registry(settings=settings, provider=payments.provider),
            batch_size=settings.jobs_batch_size,
            poll_interval=timedelta(seconds=settings.jobs_poll_interval_s),
            lease=timedelta(seconds=settings.jobs_lease_s),
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
        payments=payments,
        holds=hold_policy(settings),
        wallet_limits=wallet_limits_of(settings),
        app_limits=app_login_limits(settings),
    )
    return Application(
        app=app, engine=engine, gateway=gateway, context=context, jobs=jobs, payments=payments
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
