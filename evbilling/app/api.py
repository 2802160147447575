"""The driver app API, mounted by main at /api/app/v1 with its own OpenAPI document: every
router of `routers.APP_ROUTERS`, problem documents, the log-in throttle and where mailed
links point."""

from __future__ import annotations

from fastapi import FastAPI

from evbilling.access.app_tokens import InvalidAppToken
from evbilling.app.api_edge import AppEdge
from evbilling.app.login_throttle import AppLoginLimits, AppLoginThrottle, TooManyLogIns
from evbilling.app.routers import APP_ROUTERS
from evbilling.drivers.account_domain import InvalidCredentials
from evbilling.drivers.accounts import Links
from evbilling.infra.context import ServiceContext
from evbilling.infra.http.app import new_api
from evbilling.infra.http.problems import ProblemRegistry
from evbilling.payments.endpoints import PaymentsEdge
from evbilling.payments.providers import PaymentsRuntime

APP_PREFIX = "/api/app/v1"
DEFAULT_PUBLIC_BASE_URL = "http://localhost:8000"


def register_app_problems(registry: ProblemRegistry) -> ProblemRegistry:
    """The app's own failures (the composition root's registry has them too)."""
    registry.register(InvalidAppToken, status=401, title="Unauthorized", kind="unauthorized")
    registry.register(
        InvalidCredentials, status=401, title="Wrong e-mail or password", kind="invalid-credentials"
    )
    registry.register(
        TooManyLogIns,
        status=429,
        title="Too many attempts",
        kind="too-many-attempts",
        extra=lambda exc: {"retry_after": getattr(exc, "retry_after_s", 1)},
    )
    return registry


def create_app_api(
    *,
    context: ServiceContext,
    payments: PaymentsRuntime | None,
    limits: AppLoginLimits | None = None,
    registry: ProblemRegistry | None = None,
    public_base_url: str | None = None,
) -> FastAPI:
    """`registry`: the composition root's (evbilling.problems.problem_registry(), which main
    passes); without it only the generic and the app's own failures are mapped.
    `public_base_url`: where mailed links point (default: the payments runtime's, else
    http://localhost:8000)."""
    api = new_api(
        title="evbilling driver app API",
        description=(
            "The driver's app: account, sign-in, and (from other routers) charging, payments "
            "and receipts. Sign in with `POST /login`; send the access token as "
            "`Authorization: Bearer <token>`, and renew it with `POST /token/refresh` "
            "(docs/app-api.md). Errors are RFC 9457 problem documents."
        ),
        context=context,
        registry=register_app_problems(registry or ProblemRegistry()),
    )
    base = public_base_url or (payments.public_base_url if payments else DEFAULT_PUBLIC_BASE_URL)
    api.state.app_edge = AppEdge(
        throttle=AppLoginThrottle(limits=limits or AppLoginLimits()),
        links=Links(base_url=base.rstrip("/") + APP_PREFIX),
    )
    for router in APP_ROUTERS:
        api.include_router(router)
    if payments is not None:
        api.state.payments = PaymentsEdge(
            provider=payments.provider, public_base_url=payments.public_base_url
        )
    return api
