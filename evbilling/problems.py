"""Every named failure a client can cause, mapped to an HTTP problem document once (the
composition root's registry; anything unmapped is a 500)."""

from __future__ import annotations

from typing import Any

from evbilling.access.domain import InvalidApiKey, MissingScope
from evbilling.app.api import register_app_problems
from evbilling.commands.rotation import PasswordRefused
from evbilling.infra.http.problems import ProblemRegistry
from evbilling.infra.secrets import WeakPassword
from evbilling.infra.station_link import CommandRejected, StationNotConnected, StationTimeout
from evbilling.kit.clock import InvalidTimestamp
from evbilling.money import CurrencyMismatch, InvalidAmount, InvalidCurrency
from evbilling.payments.card_setup import CardSetupUnavailable
from evbilling.payments.errors import HoldNotCapturable, NotRefundable, RefundTooLarge
from evbilling.payments.psp import WebhookRejected
from evbilling.rating.engine import (
    InvalidCdr,
    InvalidMeterData,
    InvalidSession,
    InvalidTimeZone,
    TariffNotApplicable,
)
from evbilling.tariffs.domain import InvalidTariff


def problem_registry() -> ProblemRegistry:
    """Every named failure a client can cause, mapped to HTTP once. Anything else is a 500."""
    registry = ProblemRegistry()
    registry.register(InvalidApiKey, status=401, title="Unauthorized", kind="unauthorized")
    register_app_problems(registry)
    registry.register(MissingScope, status=403, title="Forbidden", kind="forbidden")
    registry.register(RefundTooLarge, status=409, title="Refund too large", kind="refund-too-large")
    registry.register(NotRefundable, status=409, title="Not refundable", kind="not-refundable")
    registry.register(HoldNotCapturable, status=409, title="Not capturable", kind="not-capturable")
    registry.register(
        WebhookRejected, status=400, title="Webhook rejected", kind="webhook-rejected"
    )
    registry.register(
        CardSetupUnavailable, status=503, title="Provider unavailable", kind="provider-unavailable"
    )
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
