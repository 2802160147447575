"""Stripe objects (as plain dicts) -> the port's dataclasses, and Stripe events -> ours.

A hold is a PaymentIntent with capture_method=manual; what was authorized, the capture
deadline and whether increments are possible are read from its latest charge
(`payment_method_details.card`), never assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from evbilling.payments.psp.currencies import STRIPE_CURRENCIES
from evbilling.payments.psp.port import (
    Authorization,
    AuthorizationStatus,
    BalanceTransaction,
    CardSetup,
    CardSetupStatus,
    Refund,
    RefundStatus,
    SavedMethod,
)

Json = Mapping[str, Any]

_INTENT_STATUS = {
    "requires_capture": AuthorizationStatus.AUTHORIZED,
    "processing": AuthorizationStatus.AUTHORIZED,
    "succeeded": AuthorizationStatus.CAPTURED,
    "canceled": AuthorizationStatus.CANCELED,
    "requires_payment_method": AuthorizationStatus.FAILED,
    "requires_action": AuthorizationStatus.FAILED,
    "requires_confirmation": AuthorizationStatus.FAILED,
}
_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}
# Stripe event type -> ours (docs/payments-sandbox.md lists the vocabulary).
EVENT_TYPES = {
    "payment_intent.amount_capturable_updated": "authorization.authorized",
    "payment_intent.succeeded": "authorization.captured",
    "payment_intent.canceled": "authorization.canceled",
    "payment_intent.payment_failed": "authorization.failed",
    "checkout.session.completed": "card_setup.succeeded",
    "checkout.session.expired": "card_setup.canceled",
    "refund.created": "refund.created",
    "refund.updated": "refund.updated",
    "refund.failed": "refund.failed",
    "payment_method.detached": "payment_method.detached",
}


def instant(unix: int | None) -> datetime | None:
    return None if unix is None else datetime.fromtimestamp(int(unix), tz=UTC)


def currency_of(obj: Json) -> str:
    return str(obj["currency"]).upper()


def _card_details(charge: Json | None) -> Json:
    if not charge:
        return {}
    details = charge.get("payment_method_details") or {}
    card: Json = details.get("card") or {}
    return card


def authorization(intent: Json) -> Authorization:
    currency = currency_of(intent)
    money = STRIPE_CURRENCIES.from_minor
    status = _INTENT_STATUS.get(str(intent["status"]), AuthorizationStatus.FAILED)
    latest = intent.get("latest_charge")
    charge: Json | None = latest if isinstance(latest, Mapping) else None
    card = _card_details(charge)
    if status is AuthorizationStatus.AUTHORIZED:
        authorized = int(intent.get("amount_capturable") or 0)
    elif card.get("amount_authorized") is not None:
        authorized = int(card["amount_authorized"])
    elif charge is not None and status is not AuthorizationStatus.FAILED:
        authorized = int(charge.get("amount") or 0)
    else:
        authorized = 0
    captured = (
        int(intent.get("amount_received") or 0) if status is AuthorizationStatus.CAPTURED else 0
    )
    refunded = int(charge.get("amount_refunded") or 0) if charge is not None else 0
    incremental = (card.get("incremental_authorization") or {}).get("status") == "available"
    error = intent.get("last_payment_error") or {}
    return Authorization(
        id=str(intent["id"]),
        reference=str((intent.get("metadata") or {}).get("reference", "")),
        status=status,
        requested=money(int(intent["amount"]), currency),
        authorized=money(authorized, currency),
        captured=money(captured, currency),
        refunded=money(refunded, currency),
        capture_before=instant(card.get("capture_before")),
        incremental_authorization=incremental and status is AuthorizationStatus.AUTHORIZED,
        decline_code=(error.get("decline_code") or error.get("code"))
        if status is AuthorizationStatus.FAILED
        else None,
    )


def refund(obj: Json) -> Refund:
    intent = obj.get("payment_intent")
    intent_id = intent.get("id") if isinstance(intent, Mapping) else intent
    return Refund(
        id=str(obj["id"]),
        reference=str((obj.get("metadata") or {}).get("reference", "")),
        authorization_id=str(intent_id or ""),
        amount=STRIPE_CURRENCIES.from_minor(int(obj["amount"]), currency_of(obj)),
        status=_REFUND_STATUS.get(str(obj["status"]), RefundStatus.PENDING),
    )


def saved_method(method: Json) -> SavedMethod:
    card = method.get("card") or {}
    wallet = (card.get("wallet") or {}).get("type")
    customer = method.get("customer")
    customer_id = customer.get("id") if isinstance(customer, Mapping) else customer
    return SavedMethod(
        id=str(method["id"]),
        customer_id=str(customer_id or ""),
        brand=str(card.get("brand", "unknown")),
        last4=str(card.get("last4", "")),
        exp_month=int(card.get("exp_month", 0)),
        exp_year=int(card.get("exp_year", 0)),
        wallet=str(wallet) if wallet else None,
    )


def card_setup(session: Json) -> CardSetup:
    """A Checkout Session in setup mode (its SetupIntent and method expanded)."""
    intent = session.get("setup_intent")
    intent_json: Json = intent if isinstance(intent, Mapping) else {}
    method = intent_json.get("payment_method")
    if session.get("status") == "expired":
        status = CardSetupStatus.CANCELED
    elif intent_json.get("status") == "succeeded":
        status = CardSetupStatus.SUCCEEDED
    elif intent_json.get("status") == "canceled":
        status = CardSetupStatus.CANCELED
    elif session.get("status") == "complete" and intent_json.get("last_setup_error"):
        status = CardSetupStatus.FAILED
    else:
        status = CardSetupStatus.PENDING
    customer = session.get("customer")
    customer_id = customer.get("id") if isinstance(customer, Mapping) else customer
    return CardSetup(
        id=str(session["id"]),
        customer_id=str(customer_id or ""),
        status=status,
        url=str(session.get("url") or ""),
        method=saved_method(method)
        if isinstance(method, Mapping) and status is CardSetupStatus.SUCCEEDED
        else None,
    )


def balance_transaction(obj: Json) -> BalanceTransaction:
    currency = currency_of(obj)
    source = obj.get("source")
    source_json: Json = source if isinstance(source, Mapping) else {}
    kind = {"charge": "capture", "payment": "capture", "refund": "refund"}.get(
        str(obj.get("type")), "adjustment"
    )
    if kind == "capture":
        intent = source_json.get("payment_intent")
        source_id = intent.get("id") if isinstance(intent, Mapping) else intent
    else:
        source_id = source_json.get("id")
    reference = (source_json.get("metadata") or {}).get("reference")
    return BalanceTransaction(
        id=str(obj["id"]),
        kind=kind,
        source_id=str(source_id or (source if isinstance(source, str) else "")),
        reference=str(reference) if reference else None,
        amount=STRIPE_CURRENCIES.from_minor(int(obj["amount"]), currency),
        fee=STRIPE_CURRENCIES.from_minor(int(obj.get("fee") or 0), currency),
        created_at=datetime.fromtimestamp(int(obj["created"]), tz=UTC),
    )


def event_status(stripe_type: str, obj: Json) -> str:
    """Our status of the event's object: authorization / card set-up / refund statuses."""
    if stripe_type.startswith("payment_intent."):
        return _INTENT_STATUS.get(str(obj.get("status")), AuthorizationStatus.FAILED).value
    if stripe_type.startswith("checkout.session."):
        if stripe_type == "checkout.session.expired":
            return CardSetupStatus.CANCELED.value
        return CardSetupStatus.SUCCEEDED.value
    if stripe_type.startswith("refund."):
        return _REFUND_STATUS.get(str(obj.get("status")), RefundStatus.PENDING).value
    return str(obj.get("status", ""))
