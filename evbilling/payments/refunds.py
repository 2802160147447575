"""Refunds by operators, full or partial, never more than captured (also under concurrent
requests: the amount is reserved on the payment by one guarded UPDATE).

Phase 1 (one transaction): the reservation, the refund record, its provider call with its
idempotency key, and the reversing ledger entry (revenue and VAT back, owed as refunds
payable), plus a job that finishes the refund should this process stop. Phase 2: the
provider is called with no transaction open. Phase 3: the outcome; a paid refund moves the
money out of PSP clearing, a refused one is reversed and its reservation returned.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import enqueue
from evbilling.infra.validation import MAX_NAME_LENGTH, required_text
from evbilling.kit import InvalidRequest
from evbilling.models import Payment, PaymentRefund
from evbilling.money import InvalidAmount, Money
from evbilling.payments import bookings
from evbilling.payments.calls import finish_call, get_call, latest_call, may_repeat, store_call
from evbilling.payments.domain import (
    CallState,
    PaymentStatus,
    RefundState,
    check_refund,
    refund_reference,
    refund_split,
)
from evbilling.payments.errors import NotRefundable, PaymentsError, RefundTooLarge
from evbilling.payments.psp import OutcomeUnknown, PaymentProvider, ProviderError, Refund
from evbilling.payments.psp import RefundStatus as ProviderRefundStatus
from evbilling.payments.repository import ChargeRepository, PaymentRepository, RefundRepository

REFUND_KIND = "payments.refund"
# The job that finishes a refund this process could not (it runs once the request is done).
_SAFETY_NET_DELAY = timedelta(seconds=60)


class RefundPending(PaymentsError):
    """The provider has not settled the refund yet: the job looks again later."""


async def request_refund(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    operator_id: int,
    payment_id: int,
    amount: Decimal | None,
    reason: str,
) -> PaymentRefund:
    """Refund `amount` (the currency's units; None: all that is left) of a captured payment."""
    reason = required_text(reason, field="reason", max_length=MAX_NAME_LENGTH)
    async with context.unit_of_work() as db:
        refund = await reserve_refund(
            db=db,
            operator_id=operator_id,
            payment_id=payment_id,
            amount=amount,
            reason=reason,
            now=context.clock.now(),
        )
        refund_id = refund.id
        await db.commit()
    await complete_refund(context=context, provider=provider, refund_id=refund_id)
    async with context.unit_of_work() as db:
        return await RefundRepository(db).get_owned(id=refund_id, owner_id=operator_id)


async def reserve_refund(
    *,
    db: AsyncSession,
    operator_id: int,
    payment_id: int,
    amount: Decimal | None,
    reason: str,
    now: datetime,
) -> PaymentRefund:
    """Phase 1 (flushes; the caller commits)."""
    payments = PaymentRepository(db)
    payment = await payments.get_owned(id=payment_id, owner_id=operator_id)
    if amount is None:
        amount_minor = payment.captured_minor - payment.refunded_minor
    else:
        try:
            amount_minor = Money.of(amount, payment.currency).minor_units()
        except InvalidAmount as exc:
            raise InvalidRequest(str(exc), field="amount") from exc
    check_refund(
        amount_minor=amount_minor,
        captured_minor=payment.captured_minor,
        refunded_minor=payment.refunded_minor,
    )
    charge = await ChargeRepository(db).for_payment(payment_id=payment.id)
    if charge is None:
        raise NotRefundable("the payment has no settled session to refund")
    if not await payments.reserve_refund(payment_id=payment.id, amount_minor=amount_minor, now=now):
        raise RefundTooLarge("the refund would pass what was captured (another refund won)")
    refunds = RefundRepository(db)
    refund = refunds.add(
        PaymentRefund(
            operator_id=operator_id,
            payment_id=payment.id,
            provider=payment.provider,
            currency=payment.currency,
            amount_minor=amount_minor,
            reason=reason,
            status=RefundState.PENDING.value,
            created_at=now,
            updated_at=now,
        )
    )
    await refunds.flush()
    refund.reference = refund_reference(refund.id)
    split = refund_split(amount_minor=amount_minor, portions=bookings.portions_of(charge))
    await bookings.book_refund(db=db, refund=refund, charge=charge, split=split, now=now)
    await store_call(
        db=db,
        provider=payment.provider,
        operation="refund",
        subject=refund.reference,
        amount_minor=amount_minor,
        now=now,
    )
    await enqueue(
        db=db,
        kind=REFUND_KIND,
        payload={"refund_id": refund.id},
        now=now,
        run_at=now + _SAFETY_NET_DELAY,
        dedupe_key=f"{REFUND_KIND}:{refund.id}",
    )
    await refunds.flush()
    return refund


async def complete_refund(
    *, context: ServiceContext, provider: PaymentProvider, refund_id: int
) -> None:
    """Phases 2 and 3 for a pending refund (the request's, or the job's when it was left)."""
    async with context.unit_of_work() as db:
        refund = await RefundRepository(db).get(id=refund_id)
        if refund is None or refund.status != RefundState.PENDING.value:
            return
        payment = await PaymentRepository(db).get(id=refund.payment_id)
        assert payment is not None
        assert payment.authorization_id is not None
        reference = refund.reference or refund_reference(refund.id)
        call = await latest_call(db=db, subject=reference, operation="refund")
        repeat = call is not None and (
            call.state == CallState.PENDING.value
            or may_repeat(call=call, now=context.clock.now(), window=provider.idempotency_window)
        )
        key = call.idempotency_key if call is not None else None
        amount = Money.from_minor_units(refund.amount_minor, refund.currency)
        authorization_id = payment.authorization_id
        provider_refund_id = refund.provider_refund_id
    found: Refund | None = None
    refused: ProviderError | None = None
    try:
        if provider_refund_id is not None:
            found = await provider.retrieve_refund(refund_id=provider_refund_id)
        elif repeat and key is not None:
            found = await provider.refund(
                idempotency_key=key,
                reference=reference,
                authorization_id=authorization_id,
                amount=amount,
            )
        else:
            found = await provider.find_refund(reference=reference)
    except OutcomeUnknown:
        async with context.unit_of_work() as db:
            if key is not None and (open_call := await get_call(db=db, key=key)) is not None:
                finish_call(
                    open_call,
                    state=CallState.UNKNOWN,
                    error="outcome unknown",
                    now=context.clock.now(),
                )
            await db.commit()
        raise RefundPending(f"refund {refund_id}: the provider did not answer") from None
    except ProviderError as error:
        refused = error
    async with context.unit_of_work() as db:
        settled = await apply_refund(
            db=db, refund_id=refund_id, found=found, refused=refused, now=context.clock.now()
        )
        await db.commit()
    if not settled:
        raise RefundPending(f"refund {refund_id} is still pending at the provider")


async def apply_refund(
    *,
    db: AsyncSession,
    refund_id: int,
    found: Refund | None,
    refused: ProviderError | None,
    now: datetime,
) -> bool:
    """Phase 3 (also a webhook's effect): True once the refund is final. `found` None and no
    refusal: the provider has no such refund (its call never took effect)."""
    refund = await RefundRepository(db).get_for_update(id=refund_id)
    assert refund is not None
    if refund.status != RefundState.PENDING.value:
        return True
    payment = await PaymentRepository(db).get_for_update(id=refund.payment_id)
    assert payment is not None
    reference = refund.reference or refund_reference(refund.id)
    call = await latest_call(db=db, subject=reference, operation="refund")
    if found is not None:
        refund.provider_refund_id = found.id
    if found is not None and found.status is ProviderRefundStatus.PENDING:
        refund.updated_at = now
        await db.flush()
        return False
    if found is not None and found.status is ProviderRefundStatus.SUCCEEDED:
        refund.status = RefundState.SUCCEEDED.value
        await bookings.book_refund_paid(
            db=db, refund=refund, operator_id=payment.operator_id, now=now
        )
        _refunded_all(payment, now=now)
        if call is not None:
            finish_call(call, state=CallState.SUCCEEDED, object_id=found.id, now=now)
    else:
        refund.status = RefundState.FAILED.value
        charge = await ChargeRepository(db).for_payment(payment_id=payment.id)
        assert charge is not None
        split = refund_split(
            amount_minor=refund.amount_minor, portions=bookings.portions_of(charge)
        )
        await bookings.book_refund_failed(db=db, refund=refund, charge=charge, split=split, now=now)
        await PaymentRepository(db).return_refund(
            payment_id=payment.id, amount_minor=refund.amount_minor, now=now
        )
        if call is not None:
            finish_call(call, state=CallState.FAILED, error=refused or "refund failed", now=now)
    refund.updated_at = now
    await db.flush()
    return True


def _refunded_all(payment: Payment, *, now: datetime) -> None:
    # The guarded UPDATE changed the row behind the ORM's back: read what it holds now.
    if payment.refunded_minor >= payment.captured_minor and PaymentStatus(payment.status).can_move(
        PaymentStatus.REFUNDED
    ):
        payment.status = PaymentStatus.REFUNDED.value
        payment.updated_at = now
