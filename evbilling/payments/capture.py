"""Settling a completed session: the sale booked, then its hold captured (min(cost,
capturable)) or released, the shortfall left as a receivable on the driver. Sessions paid
another way (wallet, postpaid, free, fixed fee) settle in `route_settlement` instead, in the
first phase's transaction (docs/payment-choice.md).

Three phases, each its own unit of work or none (docs/payments.md):
1. `prepare_settlement` (a transaction): the sale and the session's charge are stored, the
   capture or release call with its idempotency key; committed.
2. `call_provider` (no transaction): the provider is called, or, for a call left open by an
   earlier attempt, the provider's object is retrieved.
3. `record_settlement` (a transaction): the outcome, the hold's state and its ledger entry.

A crash between 2 and 3 leaves the call open; the job's next attempt retrieves the hold
from the provider and records what happened there, so the session is never captured twice.
A capture the provider refuses is retried (the job's backoff) up to `max_failures` times;
then the hold is released and the whole amount stays owed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.settlement import get_settlement
from evbilling.infra.context import ServiceContext
from evbilling.models import Payment, SessionCharge
from evbilling.money import Money
from evbilling.payments import bookings, route_settlement
from evbilling.payments.calls import finish_call, get_call, latest_call, may_repeat, store_call
from evbilling.payments.domain import (
    CallState,
    ChargeStatus,
    PaymentStatus,
    ShortfallReason,
    capture_plan,
)
from evbilling.payments.errors import PaymentsError
from evbilling.payments.psp import (
    Authorization,
    AuthorizationStatus,
    OutcomeUnknown,
    PaymentProvider,
    ProviderError,
)
from evbilling.payments.repository import ChargeRepository, PaymentRepository
from evbilling.payments.service import apply_authorization, minor, settle_charge

DEFAULT_MAX_FAILURES = 5
# A capture is due this long before the provider's capture deadline: past it, a refused
# capture is not retried into an expiring hold (the hold is released, the amount owed).
DEFAULT_CAPTURE_MARGIN = timedelta(hours=2)


class SettlementPending(PaymentsError):
    """The capture or release is not done yet (refused, unanswered): the job runs again."""


class Operation(StrEnum):
    CAPTURE = "capture"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class ProviderStep:
    """A call to make (or to settle, when `resolve`), after phase 1 committed it."""

    payment_id: int
    authorization_id: str
    operation: Operation
    key: str
    amount: Money
    resolve: bool


@dataclass(frozen=True, slots=True)
class StepOutcome:
    authorization: Authorization | None = None
    refused: ProviderError | None = None
    unknown: bool = False
    # A retrieve proved the open call never took effect (outside the key's window).
    not_done: bool = False


async def settle_session(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    session_id: int,
    max_failures: int = DEFAULT_MAX_FAILURES,
    capture_margin: timedelta = DEFAULT_CAPTURE_MARGIN,
) -> None:
    """The whole settlement of one session (the `session.completed` job's work)."""
    async with context.unit_of_work() as db:
        step = await prepare_settlement(
            db=db, provider=provider, session_id=session_id, now=context.clock.now()
        )
        await db.commit()
    if step is None:
        return
    outcome = await call_provider(provider=provider, step=step, context=context)
    async with context.unit_of_work() as db:
        done = await record_settlement(
            db=db,
            step=step,
            outcome=outcome,
            max_failures=max_failures,
            capture_margin=capture_margin,
            now=context.clock.now(),
        )
        await db.commit()
    if not done:
        raise SettlementPending(f"session {session_id}: {step.operation} not done yet")


async def prepare_settlement(
    *, db: AsyncSession, provider: PaymentProvider, session_id: int, now: datetime
) -> ProviderStep | None:
    """Phase 1. None when nothing is left to ask the provider (settled now or before). A
    session not paid by card settles here at once (`route_settlement`)."""
    payments = PaymentRepository(db)
    payment = await payments.for_session(session_id=session_id, lock=True)
    charge = await ChargeRepository(db).for_session(session_id=session_id, lock=True)
    if charge is None and payment is None:
        settlement = await get_settlement(db=db, session_id=session_id)
        if settlement.payment_kind in route_settlement.ROUTES:
            await route_settlement.settle_route(db=db, settlement=settlement, now=now)
            return None
    if charge is None:
        charge = await _new_charge(
            db=db, provider=provider, session_id=session_id, payment=payment, now=now
        )
    if charge.status == ChargeStatus.SETTLED.value:
        return None
    if payment is None or PaymentStatus(payment.status) is not PaymentStatus.AUTHORIZED:
        await settle_charge(db=db, charge=charge, payment=payment, now=now)
        return None
    assert payment.authorization_id is not None, "an authorized hold has its provider id"
    if payment.capture_before is not None and payment.capture_before <= now:
        charge.capture_minor = 0  # expired at the provider: nothing can be captured
        charge.shortfall_reason = ShortfallReason.NO_HOLD.value
    operation = Operation.CAPTURE if charge.capture_minor > 0 else Operation.CANCEL
    subject = f"hold:{payment.id}"
    amount = Money.from_minor_units(charge.capture_minor, payment.currency)
    previous = await latest_call(db=db, subject=subject, operation=operation.value)
    if previous is not None and CallState(previous.state).open:
        return ProviderStep(
            payment_id=payment.id,
            authorization_id=payment.authorization_id,
            operation=operation,
            key=previous.idempotency_key,
            amount=amount,
            resolve=True,
        )
    call = await store_call(
        db=db,
        provider=payment.provider,
        operation=operation.value,
        subject=subject,
        amount_minor=charge.capture_minor,
        now=now,
    )
    return ProviderStep(
        payment_id=payment.id,
        authorization_id=payment.authorization_id,
        operation=operation,
        key=call.idempotency_key,
        amount=amount,
        resolve=False,
    )


async def _new_charge(
    *,
    db: AsyncSession,
    provider: PaymentProvider,
    session_id: int,
    payment: Payment | None,
    now: datetime,
) -> SessionCharge:
    """The session's charge, its sale booked, and how much its capture is to take."""
    settlement = await get_settlement(db=db, session_id=session_id)
    # A session that delivered no energy is a failed start: its hold is released and it
    # costs nothing, whatever its tariff's session fee (docs/payments.md).
    charged = settlement.billable and settlement.energy_wh > 0
    total = settlement.total if charged and settlement.total is not None else None
    currency = (
        total.currency
        if total is not None
        else (settlement.currency or (payment.currency if payment is not None else "EUR"))
    )
    portions = (
        [
            {"rate": str(p.rate), "net_minor": minor(p.net), "vat_minor": minor(p.vat)}
            for p in settlement.portions
        ]
        if total is not None
        else []
    )
    total_minor = minor(total) if total is not None else 0
    capturable = Money.zero(currency)
    if payment is not None and PaymentStatus(payment.status) is PaymentStatus.AUTHORIZED:
        if payment.currency == currency:
            capturable = Money.from_minor_units(payment.authorized_minor, currency)
    plan = capture_plan(
        cost=Money.from_minor_units(total_minor, currency),
        capturable=capturable,
        minimum=provider.minimum_charge(currency),
    )
    charge = ChargeRepository(db).add(
        SessionCharge(
            operator_id=settlement.operator_id,
            session_id=session_id,
            driver_id=settlement.driver_id,
            payment_id=payment.id if payment is not None else None,
            location_id=settlement.location_id,
            currency=currency,
            total_minor=total_minor,
            portions=portions,
            capture_minor=minor(plan.capture),
            captured_minor=0,
            receivable_minor=0,
            written_off_minor=0,
            shortfall_reason=plan.reason.value,
            status=ChargeStatus.CAPTURING.value,
            capture_failures=0,
            payment_kind=settlement.payment_kind or "card",
            created_at=now,
            updated_at=now,
        )
    )
    await db.flush()
    await bookings.book_sale(db=db, charge=charge, now=now)
    return charge


async def call_provider(
    *, provider: PaymentProvider, step: ProviderStep, context: ServiceContext
) -> StepOutcome:
    """Phase 2, no transaction open."""
    try:
        if step.resolve:
            found = await provider.retrieve_authorization(authorization_id=step.authorization_id)
            if found.status is not AuthorizationStatus.AUTHORIZED:
                return StepOutcome(authorization=found)
            async with context.unit_of_work() as db:
                call = await get_call(db=db, key=step.key)
            window = provider.idempotency_window
            now = context.clock.now()
            if call is None or not may_repeat(call=call, now=now, window=window):
                return StepOutcome(not_done=True)
        if step.operation is Operation.CAPTURE:
            authorization = await provider.capture(
                idempotency_key=step.key,
                authorization_id=step.authorization_id,
                amount=step.amount,
            )
        else:
            authorization = await provider.cancel(
                idempotency_key=step.key, authorization_id=step.authorization_id
            )
    except OutcomeUnknown:
        return StepOutcome(unknown=True)
    except ProviderError as refused:
        return StepOutcome(refused=refused)
    return StepOutcome(authorization=authorization)


async def record_settlement(
    *,
    db: AsyncSession,
    step: ProviderStep,
    outcome: StepOutcome,
    max_failures: int,
    now: datetime,
    capture_margin: timedelta = DEFAULT_CAPTURE_MARGIN,
) -> bool:
    """Phase 3: True when the session is settled."""
    payment = await PaymentRepository(db).get_for_update(id=step.payment_id)
    assert payment is not None
    charge = await ChargeRepository(db).for_payment(payment_id=payment.id, lock=True)
    assert charge is not None
    call = await get_call(db=db, key=step.key)
    assert call is not None
    if outcome.authorization is not None:
        await apply_authorization(
            db=db, payment=payment, authorization=outcome.authorization, now=now
        )
        finish_call(call, state=CallState.SUCCEEDED, object_id=outcome.authorization.id, now=now)
    elif outcome.unknown:
        finish_call(call, state=CallState.UNKNOWN, error="outcome unknown", now=now)
    elif outcome.not_done:
        finish_call(call, state=CallState.FAILED, error="not done at the provider", now=now)
    elif outcome.refused is not None:
        finish_call(call, state=CallState.FAILED, error=outcome.refused, now=now)
        if step.operation is Operation.CAPTURE:
            charge.capture_failures += 1
            deadline = payment.capture_before
            too_late = deadline is not None and now >= deadline - capture_margin
            if charge.capture_failures >= max_failures or too_late:
                # Given up: the hold is released next and the whole amount stays owed.
                charge.capture_minor = 0
                charge.shortfall_reason = ShortfallReason.NO_HOLD.value
    await db.flush()
    return await settle_charge(db=db, charge=charge, payment=payment, now=now) or (
        charge.status == ChargeStatus.SETTLED.value
    )
