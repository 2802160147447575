"""Settings from EVBILLING_* environment variables; read only by cli/ and main.py."""

from __future__ import annotations

import json
from ipaddress import ip_network
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVBILLING_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/evbilling.sqlite3"
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    # JSON lines when true, readable lines when false; unset: JSON unless stderr is a terminal.
    log_json: bool | None = None
    # Key for the pseudonyms of RFID UIDs, e-mails and addresses in logs; unset: random per
    # process (lines then correlate within one run only).
    log_pseudonym_key: SecretStr | None = None
    heartbeat_interval_s: int = 300
    # Seconds the server waits for a station to answer an operator command.
    command_timeout_s: float = 30.0
    # Station log-in throttle (docs/ocpp-edge.md), never per station id alone: the failures
    # one (station id, address) pair may make before it is locked out for auth_lockout_s,
    # doubling per further failure up to auth_lockout_max_s...
    auth_failures_allowed: int = 5
    auth_lockout_s: float = 1.0
    auth_lockout_max_s: float = 900.0
    # ...and the failures one client address (an IPv6 /64) may make per window.
    auth_address_failures_allowed: int = 100
    auth_failure_window_s: float = 60.0
    # Largest WebSocket message a station may send; a larger one closes the socket (1009).
    ocpp_max_frame_bytes: int = Field(default=256 * 1024, ge=1024)
    # The background job worker inside `evbilling serve` (docs/jobs.md): off, every instance
    # still accepts jobs and another instance (or `evbilling jobs run-once`) runs them.
    jobs_enabled: bool = True
    jobs_poll_interval_s: float = Field(default=1.0, gt=0, le=3600)
    jobs_batch_size: int = Field(default=10, ge=1, le=1000)
    # How long a claimed job is its worker's; a job of a worker that died is taken over after.
    jobs_lease_s: float = Field(default=300.0, ge=1)
    # An active session nothing was heard about for this long is closed as abandoned.
    session_abandon_after_s: float = Field(default=86_400.0, gt=0)
    # A stopped session whose connector never reports Available is completed this long after
    # its stop (idle time billed at most up to the connector's last status within it).
    session_idle_cap_s: float = Field(default=14_400.0, gt=0)
    # HMAC key for API-key digests, the same on every server of one database (at least 32
    # characters). Unset: a SQLite database keeps a generated one beside it (api-key-secret,
    # mode 0600); PostgreSQL requires it.
    api_key_secret: SecretStr | None = None
    api_url: str = "http://127.0.0.1:8080"
    api_key: str | None = None
    # The HTTP edge (docs/http-limits.md). Request bodies: at most this many bytes (the largest
    # legitimate request, a tariff, is a few KiB to some tens of KiB), complete within
    # http_body_timeout_s of the request head.
    http_max_body_bytes: int = Field(default=1 << 20, ge=1)
    http_body_timeout_s: float = Field(default=30.0, gt=0)
    # The request line and headers (also of WebSocket upgrades): size, and time from the
    # connection opening (or the request's first byte) until they are complete.
    http_max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    http_header_timeout_s: float = Field(default=20.0, gt=0)
    # Open connections (HTTP and WebSocket) per client address; IPv6 per /64. Many chargers
    # may share one NAT address; trusted proxies are not counted.
    max_connections_per_address: int = Field(default=256, ge=1)
    # Proxies (CIDRs, comma-separated or a JSON list) whose forwarding header names the
    # client; from anyone else the header is ignored. Which header they write:
    trusted_proxies: Annotated[list[str], NoDecode] = []
    trusted_proxy_header: Literal["x-forwarded-for", "forwarded"] = "x-forwarded-for"

    # Card payments (docs/payments.md). The provider: the sandbox (default; its app is
    # mounted at /sandbox-psp, its own database beside ours) or Stripe.
    psp: Literal["sandbox", "stripe"] = "sandbox"
    # The sandbox's API (default: this server's own /sandbox-psp, reached in-process) and
    # the key its clients present; its webhook secret (unset: random per process).
    psp_sandbox_url: str | None = None
    psp_sandbox_api_key: SecretStr = SecretStr("sk_sandbox_local")
    # Unset: sandbox-psp.sqlite3 beside a SQLite database, else var/sandbox-psp.sqlite3.
    psp_sandbox_database_url: str | None = None
    psp_sandbox_webhooks: bool = True
    # The sandbox's slow-capture test card answers after this many seconds.
    psp_sandbox_slow_capture_s: float = Field(default=30.0, ge=0)
    psp_webhook_secret: SecretStr | None = None
    stripe_api_key: SecretStr | None = None
    # Webhook endpoint name -> signing secret: "name=whsec_...,other=whsec_..." or JSON.
    stripe_webhook_secrets: Annotated[dict[str, SecretStr], NoDecode] = {}
    # The largest hold per currency ("EUR:50,CHF:60"); a currency without a cap is held at
    # its estimate (docs/payments.md).
    hold_cap: str = "EUR:50"
    # Hold sizing and the spending limit's safety margin (docs/payments.md).
    hold_window_s: float = Field(default=3600.0, gt=0)
    hold_meter_interval_s: float = Field(default=60.0, ge=0)
    hold_stop_latency_s: float = Field(default=30.0, ge=0)
    hold_idle_cap_s: float = Field(default=3600.0, ge=0)
    # A hold no session took within this long is released.
    hold_unused_after_s: float = Field(default=600.0, gt=0)
    # Refused captures retried (with the job's backoff) this often before the hold is
    # released and the amount left owed.
    capture_max_failures: int = Field(default=5, ge=1, le=50)
    # ...but not past the provider's capture deadline minus this margin.
    capture_margin_s: float = Field(default=7200.0, ge=0)
    # Where drivers' browsers and providers reach this server (default http://host:port).
    public_base_url: str | None = None
    # The mail outbox (docs/app-api.md): .eml files in mail_dir, or SMTP when smtp_url is set
    # (smtp://user:password@host:587 with STARTTLS, smtps://... with TLS).
    mail_dir: str = "var/mail"
    smtp_url: SecretStr | None = None
    mail_from: str = "evbilling <no-reply@localhost>"
    # The driver app's log-in throttle (docs/app-api.md).
    app_login_pair_failures: int = Field(default=5, ge=1)
    app_login_address_failures: int = Field(default=30, ge=1)
    app_login_account_failures: int = Field(default=20, ge=1)
    app_login_account_slowdown_s: float = Field(default=5.0, ge=0)

    @field_validator("stripe_webhook_secrets", mode="before")
    @classmethod
    def _webhook_secrets(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                return json.loads(text)
            pairs = (part.split("=", 1) for part in text.split(",") if part.strip())
            return {name.strip(): secret.strip() for name, secret in pairs}
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ip_network(cidr, strict=False)  # ValueError names the bad one
        return value


def load_settings() -> Settings:
    return Settings()
