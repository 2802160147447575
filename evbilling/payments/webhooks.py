"""Provider events: verified on the raw body (the secret chosen by the endpoint, never by the
body), de-duplicated on the event id in the same transaction as their effect, and acted on
from the object as the provider has it now (retrieved), never from the event alone. A
state never moves backwards, so events that arrive twice or out of order end in the same
state."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.logging import get_logger
from evbilling.payments.card_setup import apply_card_setup
from evbilling.payments.psp import (
    Authorization,
    CardSetup,
    PaymentProvider,
    Refund,
    WebhookEvent,
    WebhookRejected,
)
from evbilling.payments.refunds import apply_refund
from evbilling.payments.repository import (
    ChargeRepository,
    InboxRepository,
    PaymentRepository,
    RefundRepository,
)
from evbilling.payments.service import apply_authorization, settle_charge

log = get_logger(__name__)

Retrieved = Authorization | Refund | CardSetup | None


async def handle_webhook(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    payload: bytes,
    headers: Mapping[str, str],
    endpoint: str | None = None,
) -> str:
    """What the event did: "applied", "unchanged", "unknown_object", "ignored" or
    "duplicate". Raises WebhookRejected when it does not verify (nothing is stored).
    `endpoint` names the webhook endpoint the request arrived at, for a provider with a
    signing secret per endpoint (Stripe); the secret is never taken from the body."""
    event = _verify(
        provider=provider,
        payload=payload,
        headers=headers,
        endpoint=endpoint,
        now=context.clock.now(),
    )
    async with context.unit_of_work() as db:
        if await InboxRepository(db).seen(provider=provider.name, event_id=event.id):
            return "duplicate"
    retrieved = await _retrieve(provider=provider, event=event)
    async with context.unit_of_work() as db:
        now = context.clock.now()
        inbox = InboxRepository(db)
        row_id = await inbox.insert(
            provider=provider.name,
            event_id=event.id,
            type=event.type,
            object_id=event.object_id,
            now=now,
        )
        if row_id is None:
            return "duplicate"  # a concurrent delivery of the same event stored it first
        outcome = await apply_object(db=db, provider=provider.name, found=retrieved, now=now)
        await inbox.set_outcome(row_id=row_id, outcome=outcome)
        await db.commit()
    log.info("payments.webhook", provider=provider.name, type=event.type, outcome=outcome)
    return outcome


class _PerEndpoint(Protocol):
    def verify_webhook(
        self, *, payload: bytes, headers: Mapping[str, str], now: datetime, endpoint: str | None
    ) -> WebhookEvent: ...


def _verify(
    *,
    provider: PaymentProvider,
    payload: bytes,
    headers: Mapping[str, str],
    endpoint: str | None,
    now: datetime,
) -> WebhookEvent:
    if endpoint is None:
        return provider.verify_webhook(payload=payload, headers=headers, now=now)
    verify = getattr(provider, "verify_webhook", None)
    if verify is None or "endpoint" not in inspect.signature(verify).parameters:
        raise WebhookRejected(f"the {provider.name} provider has no webhook endpoints by name")
    per_endpoint: _PerEndpoint = provider
    return per_endpoint.verify_webhook(payload=payload, headers=headers, now=now, endpoint=endpoint)


async def _retrieve(*, provider: PaymentProvider, event: WebhookEvent) -> Retrieved:
    family = event.type.split(".", 1)[0]
    if family == "authorization":
        return await provider.retrieve_authorization(authorization_id=event.object_id)
    if family == "refund":
        return await provider.retrieve_refund(refund_id=event.object_id)
    if family == "card_setup":
        return await provider.retrieve_card_setup(setup_id=event.object_id)
    return None


async def apply_object(*, db: AsyncSession, provider: str, found: Retrieved, now: datetime) -> str:
    if found is None:
        return "ignored"
    if isinstance(found, Authorization):
        return await _apply_authorization(db=db, provider=provider, found=found, now=now)
    if isinstance(found, Refund):
        refunds = RefundRepository(db)
        refund = await refunds.by_provider_id(provider=provider, refund_id=found.id)
        if refund is None and found.reference.startswith("refund:"):
            suffix = found.reference.removeprefix("refund:")
            refund = await refunds.get(id=int(suffix)) if suffix.isdigit() else None
        if refund is None or refund.provider != provider:
            return "unknown_object"
        before = refund.status
        await apply_refund(db=db, refund_id=refund.id, found=found, refused=None, now=now)
        return "applied" if refund.status != before else "unchanged"
    setup = await apply_card_setup(db=db, provider=provider, setup=found, now=now)
    return "unknown_object" if setup is None else "applied"


async def _apply_authorization(
    *, db: AsyncSession, provider: str, found: Authorization, now: datetime
) -> str:
    payments = PaymentRepository(db)
    payment = await payments.by_authorization(
        provider=provider, authorization_id=found.id, lock=True
    )
    if payment is None:
        payment = await payments.by_reference(reference=found.reference, lock=True)
    if payment is None or payment.provider != provider:
        return "unknown_object"
    moved = await apply_authorization(db=db, payment=payment, authorization=found, now=now)
    charge = await ChargeRepository(db).for_payment(payment_id=payment.id, lock=True)
    if charge is not None:
        moved = await settle_charge(db=db, charge=charge, payment=payment, now=now) or moved
    return "applied" if moved else "unchanged"
