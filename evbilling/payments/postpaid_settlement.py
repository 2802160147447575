"""Card payments of postpaid statements left `pending` (an answer lost, or a process gone
between storing a call and recording its answer), settled from the provider's own object:
retrieved by its id, or found by our reference `postpaid-payment:{id}` (docs/postpaid.md).

- captured at the provider: the payment succeeded, booked once (Dr psp_clearing / Cr
  postpaid_receivable);
- only held: the hold is released (its cancel call stored first) and the payment failed;
- canceled, declined, or unknown to the provider: failed, nothing booked.

A provider that does not answer leaves the payment pending for the next run. The scheduled
job `postpaid.settle_card_payments` runs this every 5 minutes for payments pending for 2.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.logging import get_logger
from evbilling.kit import NotFound
from evbilling.ledger.domain import AccountRef
from evbilling.payments.lost_answers import close_open_calls, settled_object
from evbilling.payments.psp import (
    Authorization,
    AuthorizationStatus,
    OutcomeUnknown,
    PaymentProvider,
    ProviderError,
)
from evbilling.postpaid.domain import PaymentStatus
from evbilling.postpaid.received import book_received
from evbilling.postpaid.repository import PaymentRepository

SETTLE_KIND = "postpaid.settle_card_payments"
PENDING_FOR = timedelta(minutes=2)
_log = get_logger(__name__)


def _subject(payment_id: int) -> str:
    return f"postpaid-payment:{payment_id}"


async def settle_pending_card_payments(
    *, context: ServiceContext, provider: PaymentProvider, pending_for: timedelta = PENDING_FOR
) -> int:
    """Settle every card payment of this provider pending for `pending_for`; how many were."""
    async with context.unit_of_work() as db:
        ids = await PaymentRepository(db).pending_cards_before(
            provider=provider.name, before=context.clock.now() - pending_for
        )
    settled = 0
    for payment_id in ids:
        status = await settle_card_payment(
            context=context, provider=provider, payment_id=payment_id
        )
        if status is not PaymentStatus.PENDING:
            settled += 1
    return settled


async def settle_card_payment(
    *, context: ServiceContext, provider: PaymentProvider, payment_id: int
) -> PaymentStatus:
    """Settle one pending card payment from the provider's object; its status afterwards."""
    async with context.unit_of_work() as db:
        payment = await PaymentRepository(db).get(id=payment_id)
        if payment is None:
            raise NotFound(kind="postpaid payment", key=payment_id)
        if payment.status != PaymentStatus.PENDING.value:
            return PaymentStatus(payment.status)
        authorization_id = payment.authorization_id
    try:
        found = await settled_object(
            context=context,
            provider=provider,
            subject=_subject(payment_id),
            authorization_id=authorization_id,
        )
    except (OutcomeUnknown, ProviderError) as exc:
        _log.warning("postpaid.card_payment_still_pending", payment_id=payment_id,
                     error=type(exc).__name__)  # fmt: skip
        return PaymentStatus.PENDING
    async with context.unit_of_work() as db:
        status = await _record(db, payment_id=payment_id, found=found, now=context.clock.now())
        await db.commit()
    _log.info("postpaid.card_payment_settled", payment_id=payment_id, status=status.value)
    return status


async def _record(
    db: AsyncSession, *, payment_id: int, found: Authorization | None, now: datetime
) -> PaymentStatus:
    payment = await PaymentRepository(db).get_for_update(id=payment_id)
    if payment is None:
        raise NotFound(kind="postpaid payment", key=payment_id)
    if payment.status != PaymentStatus.PENDING.value:
        return PaymentStatus(payment.status)  # settled by another run meanwhile
    await close_open_calls(db, subject=_subject(payment_id), found=found, now=now)
    payment.updated_at = now
    if found is not None:
        payment.authorization_id = found.id
    if found is not None and found.status is AuthorizationStatus.CAPTURED:
        payment.status = PaymentStatus.SUCCEEDED.value
        payment.amount_minor = found.captured.minor_units()
        await db.flush()
        clearing = AccountRef.psp_clearing(
            provider=payment.provider or "", currency=payment.currency
        )
        await book_received(db=db, payment=payment, debit=clearing, now=now)
        return PaymentStatus.SUCCEEDED
    payment.status = PaymentStatus.FAILED.value
    reason = (
        "not found at the provider" if found is None else (found.decline_code or found.status.value)
    )
    payment.error = f"settled from the provider: {reason}"[:500]
    return PaymentStatus.FAILED
