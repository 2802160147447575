"""Which payment provider a process talks to, built from plain settings values (main and cli
read the settings and hand them here).

- In the server with the sandbox (the default): the sandbox's app is mounted at
  /sandbox-psp, the client reaches it in-process (no socket), and its webhooks are delivered
  in-process to /webhooks/sandbox. Browsers reach its hosted page at the public base URL.
- In other processes (the CLI, `jobs run-once`): the same sandbox (its database) opened
  in-process, without webhooks; a sandbox elsewhere over HTTP (`EVBILLING_PSP_SANDBOX_URL`);
  or Stripe.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from starlette.types import ASGIApp, Receive, Scope, Send

from evbilling.kit import Clock
from evbilling.payments.psp import PaymentProvider
from evbilling.payments.psp.sandbox import SandboxProvider, create_sandbox_app

SANDBOX_MOUNT = "/sandbox-psp"


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    psp: str  # "sandbox" | "stripe"
    public_base_url: str
    sandbox_url: str | None = None  # None: this server's own mount
    sandbox_api_key: str = "sk_sandbox_local"
    sandbox_database_url: str = "sqlite+aiosqlite:///var/sandbox-psp.sqlite3"
    sandbox_webhooks: bool = True
    slow_capture_s: float = 30.0
    webhook_secret: str | None = None
    stripe_api_key: str | None = None
    stripe_webhook_secrets: Mapping[str, str] = field(default_factory=dict)

    @property
    def mounts_sandbox(self) -> bool:
        return self.psp == "sandbox" and self.sandbox_url is None


class _Late:
    """An ASGI app set after it is built (the server's own app, for in-process calls)."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "attach() the server's app first"
        await self.app(scope, receive, send)


@dataclass(slots=True)
class PaymentsRuntime:
    """The provider of a server, and the sandbox's app when the server mounts it."""

    provider: PaymentProvider
    public_base_url: str
    sandbox: FastAPI | None = None
    _root: _Late = field(default_factory=_Late)

    def attach(self, app: FastAPI) -> None:
        """Mount the sandbox on the server's app and route in-process calls to it."""
        self._root.app = app
        if self.sandbox is not None:
            app.mount(SANDBOX_MOUNT, self.sandbox)

    async def close(self) -> None:
        close = getattr(self.provider, "aclose", None)
        if close is not None:
            await close()
        if self.sandbox is not None:
            await self.sandbox.state.sandbox.close()


def _secret(config: ProviderSettings) -> str:
    # Random per process when unset: only a sandbox mounted in this process checks it.
    return config.webhook_secret or secrets.token_urlsafe(24)


def server_payments(*, config: ProviderSettings, clock: Clock) -> PaymentsRuntime:
    """The provider of a server process (`attach` it to the server's app)."""
    base = config.public_base_url.rstrip("/")
    if not config.mounts_sandbox:
        return PaymentsRuntime(provider=remote_provider(config=config), public_base_url=base)
    _make_folder(config.sandbox_database_url)
    late = _Late()
    secret = _secret(config)
    sandbox = create_sandbox_app(
        database_url=config.sandbox_database_url,
        api_key=config.sandbox_api_key,
        webhook_secret=secret,
        webhook_url=f"{base}/webhooks/sandbox" if config.sandbox_webhooks else None,
        clock=clock,
        public_url=f"{base}{SANDBOX_MOUNT}",
        webhook_transport=httpx.ASGITransport(app=late),
        slow_capture_seconds=config.slow_capture_s,
    )
    provider = SandboxProvider(
        f"{base}{SANDBOX_MOUNT}",
        config.sandbox_api_key,
        secret,
        transport=httpx.ASGITransport(app=late),
        timeout=60.0,
    )
    return PaymentsRuntime(provider=provider, public_base_url=base, sandbox=sandbox, _root=late)


def process_payments(*, config: ProviderSettings, clock: Clock) -> PaymentsRuntime:
    """The provider of a process that serves nothing (a command): the configured sandbox's
    own database opened here (no server needs to run; its webhooks are not sent), or the
    provider as `remote_provider` reaches it."""
    base = config.public_base_url.rstrip("/")
    if not config.mounts_sandbox:
        return PaymentsRuntime(provider=remote_provider(config=config), public_base_url=base)
    _make_folder(config.sandbox_database_url)
    late = _Late()
    secret = _secret(config)
    sandbox = create_sandbox_app(
        database_url=config.sandbox_database_url,
        api_key=config.sandbox_api_key,
        webhook_secret=secret,
        webhook_url=None,
        clock=clock,
        public_url=f"{base}{SANDBOX_MOUNT}",
        slow_capture_seconds=config.slow_capture_s,
    )
    provider = SandboxProvider(
        f"{base}{SANDBOX_MOUNT}",
        config.sandbox_api_key,
        secret,
        transport=httpx.ASGITransport(app=late),
        timeout=60.0,
    )
    runtime = PaymentsRuntime(provider=provider, public_base_url=base, sandbox=sandbox, _root=late)
    runtime.attach(FastAPI(openapi_url=None))
    return runtime


def _make_folder(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def remote_provider(*, config: ProviderSettings) -> PaymentProvider:
    """The provider as another process reaches it: Stripe, or the sandbox over HTTP."""
    if config.psp == "stripe":
        if not config.stripe_api_key:
            raise ValueError("EVBILLING_PSP=stripe needs EVBILLING_STRIPE_API_KEY")
        # Imported here: the SDK takes a while to import, and only a Stripe server needs it.
        from evbilling.payments.psp.stripe import StripeProvider

        return StripeProvider(config.stripe_api_key, dict(config.stripe_webhook_secrets))
    url = config.sandbox_url or f"{config.public_base_url.rstrip('/')}{SANDBOX_MOUNT}"
    return SandboxProvider(url, config.sandbox_api_key, _secret(config), timeout=60.0)
