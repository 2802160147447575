"""Helpers for tests of the driver app API: a signed-in driver (a verified account made
through the service, with tokens) and an in-process client of the app API."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from evbilling.access.app_tokens import issue_token_pair
from evbilling.app.api import APP_PREFIX, create_app_api
from evbilling.app.login_throttle import AppLoginLimits
from evbilling.drivers import accounts
from evbilling.infra.context import ServiceContext
from evbilling.infra.secrets import hash_secret_async
from evbilling.models import DriverAccount
from evbilling.payments.providers import PaymentsRuntime
from evbilling.problems import problem_registry

DEFAULT_PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class SignedInDriver:
    driver_id: int
    account_id: int
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def signed_in_driver(
    *,
    context: ServiceContext,
    operator_id: int,
    email: str,
    password: str = DEFAULT_PASSWORD,
    name: str = "Driver",
    verified: bool = True,
) -> SignedInDriver:
    """A driver of the operator with an account (verified unless told otherwise) and a
    fresh pair of tokens."""
    password_hash = await hash_secret_async(password)
    async with context.unit_of_work() as db:
        now = context.clock.now()
        account_id = await accounts.sign_up(
            db=db,
            hasher=context.api_keys,
            operator_id=operator_id,
            email=email,
            name=name,
            password_hash=password_hash,
            links=accounts.Links(base_url="http://test" + APP_PREFIX),
            now=now,
        )
        assert account_id is not None, f"{email} already has an account"
        account = await db.get(DriverAccount, account_id)
        assert account is not None
        if verified:
            account.email_verified_at = now
        pair = await issue_token_pair(
            db=db, hasher=context.api_keys, account_id=account_id, now=now
        )
        driver_id = account.driver_id
        await db.commit()
    return SignedInDriver(
        driver_id=driver_id,
        account_id=account_id,
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
    )


def app_api(
    *,
    context: ServiceContext,
    payments: PaymentsRuntime | None = None,
    limits: AppLoginLimits | None = None,
) -> FastAPI:
    """The app API as main mounts it (with the composition root's problem registry)."""
    return create_app_api(
        context=context, payments=payments, limits=limits, registry=problem_registry()
    )


def app_client(app: FastAPI, *, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An in-process client with base URL http://test/api/app/v1, calling from `address`.
    `app`: the app API itself (create_app_api / app_api) or the whole server app
    (main.create_app), which mounts it there."""
    root = app
    if getattr(app.state, "app_edge", None) is not None:
        root = FastAPI()
        root.mount(APP_PREFIX, app)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=root, client=(address, 50000)),
        base_url="http://test" + APP_PREFIX,
    )
