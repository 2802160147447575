"""What the settings mean to each part of the server: `Settings` (the environment, read once
by main or cli) turned into the plain values the slices take -- the provider's settings, hold
policy, wallet and log-in limits, HTTP limits, trusted proxies, mail delivery, the API-key
hasher and logging. Only main and cli import this module."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from evbilling.app.login_throttle import AppLoginLimits
from evbilling.config import Settings
from evbilling.infra.http.addresses import TrustedProxies
from evbilling.infra.http.limits import HttpLimits
from evbilling.infra.logging import configure_logging
from evbilling.infra.mail import Mailer, mailer_for
from evbilling.infra.secrets import ApiKeyHasher, api_key_hasher_for
from evbilling.payments.domain import HoldPolicy, parse_caps
from evbilling.payments.providers import (
    ProviderSettings,
)
from evbilling.wallets.domain import WalletLimits, parse_amount_setting


def mailer_of(settings: Settings) -> Mailer:
    """Where the outbox delivers: SMTP when EVBILLING_SMTP_URL is set, else EVBILLING_MAIL_DIR."""
    smtp = settings.smtp_url
    return mailer_for(
        mail_dir=settings.mail_dir,
        smtp_url=smtp.get_secret_value() if smtp is not None else None,
        sender=settings.mail_from,
    )


def app_login_limits(settings: Settings) -> AppLoginLimits:
    return AppLoginLimits(
        pair_failures=settings.app_login_pair_failures,
        address_failures=settings.app_login_address_failures,
        account_failures=settings.app_login_account_failures,
        account_slowdown_s=settings.app_login_account_slowdown_s,
    )


def api_key_hasher(settings: Settings) -> ApiKeyHasher:
    """The API-key digests of this installation (EVBILLING_API_KEY_SECRET, or the secret a
    SQLite database keeps beside it); read on first use."""
    secret = settings.api_key_secret
    return api_key_hasher_for(
        configured=secret.get_secret_value() if secret is not None else None,
        database_url=settings.database_url,
    )


def public_base_url(settings: Settings) -> str:
    return settings.public_base_url or f"http://{settings.host}:{settings.port}"


def provider_settings(settings: Settings) -> ProviderSettings:
    """The payment provider's settings as plain values (docs/payments.md)."""
    secret = settings.psp_webhook_secret
    stripe_key = settings.stripe_api_key
    return ProviderSettings(
        psp=settings.psp,
        public_base_url=public_base_url(settings),
        sandbox_url=settings.psp_sandbox_url,
        sandbox_api_key=settings.psp_sandbox_api_key.get_secret_value(),
        sandbox_database_url=settings.psp_sandbox_database_url
        or sandbox_database_beside(settings.database_url),
        sandbox_webhooks=settings.psp_sandbox_webhooks,
        slow_capture_s=settings.psp_sandbox_slow_capture_s,
        webhook_secret=secret.get_secret_value() if secret is not None else None,
        stripe_api_key=stripe_key.get_secret_value() if stripe_key is not None else None,
        stripe_webhook_secrets={
            name: value.get_secret_value()
            for name, value in settings.stripe_webhook_secrets.items()
        },
    )


def sandbox_database_beside(database_url: str) -> str:
    """The sandbox's own SQLite file: next to evbilling's SQLite file, or under var/."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).parent
    else:
        folder = Path("var")
    return f"sqlite+aiosqlite:///{folder / 'sandbox-psp.sqlite3'}"


def hold_policy(settings: Settings) -> HoldPolicy:
    """How card holds and spending limits are sized (docs/payments.md); the charger edge
    passes it to payments.card_flow.plan_hold."""
    return HoldPolicy(
        caps=parse_caps(settings.hold_cap),
        hold_window=timedelta(seconds=settings.hold_window_s),
        meter_interval=timedelta(seconds=settings.hold_meter_interval_s),
        stop_latency=timedelta(seconds=settings.hold_stop_latency_s),
        idle_cap=timedelta(seconds=settings.hold_idle_cap_s),
        unused_hold_after=timedelta(seconds=settings.hold_unused_after_s),
        capture_margin=timedelta(seconds=settings.capture_margin_s),
    )


def wallet_limits_of(settings: Settings) -> WalletLimits:
    """The smallest card top-up and the largest wallet balance (docs/wallets.md)."""
    return WalletLimits(
        min_topup=parse_amount_setting(settings.wallet_min_topup, name="wallet_min_topup"),
        max_balance=parse_amount_setting(settings.wallet_max_balance, name="wallet_max_balance"),
    )


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
