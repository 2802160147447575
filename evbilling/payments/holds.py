"""Holds outside a session's settlement: raising one (an increment, where the provider
offers it), and releasing one no session will use (a failed, refused or abandoned start; a hold too
small for its margin; a hold whose authorization outcome was lost), in three phases like
every provider call: the cancel call stored, made with no transaction open, recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.kit import InvalidRequest, NotFound
from evbilling.models import Payment
from evbilling.money import Money
from evbilling.payments.calls import finish_call, get_call, latest_call, store_call
from evbilling.payments.domain import CallState, HoldPolicy, PaymentStatus
from evbilling.payments.errors import HoldNotCapturable, PaymentsError
from evbilling.payments.psp import Authorization, OutcomeUnknown, PaymentProvider, ProviderError
from evbilling.payments.repository import PaymentRepository
from evbilling.payments.service import apply_authorization, minor

_SWEEP_BATCH = 200


class ReleasePending(PaymentsError):
    """The provider did not confirm the release yet: the job runs again."""


@dataclass(frozen=True, slots=True)
class ReleaseStep:
    hold_id: int
    reference: str
    authorization_id: str | None
    key: str | None  # None: find the authorization first (its answer was lost)


async def release_hold(*, context: ServiceContext, provider: PaymentProvider, hold_id: int) -> None:
    async with context.unit_of_work() as db:
        step = await _prepare(db=db, hold_id=hold_id, now=context.clock.now())
        await db.commit()
    if step is None:
        return
    found: Authorization | None = None
    try:
        if step.authorization_id is None:
            found = await provider.find_authorization(reference=step.reference)
        elif step.key is not None:
            found = await provider.cancel(
                idempotency_key=step.key, authorization_id=step.authorization_id
            )
    except OutcomeUnknown as exc:
        raise ReleasePending(f"hold {hold_id}: the provider did not answer") from exc
    except ProviderError:
        # Refused (already captured or canceled there): its real state decides.
        assert step.authorization_id is not None
        found = await provider.retrieve_authorization(authorization_id=step.authorization_id)
    async with context.unit_of_work() as db:
        again = await _record(db=db, step=step, found=found, now=context.clock.now())
        await db.commit()
    if again:
        raise ReleasePending(f"hold {hold_id}: release continues")


async def _prepare(*, db: AsyncSession, hold_id: int, now: datetime) -> ReleaseStep | None:
    payment = await PaymentRepository(db).get_for_update(id=hold_id)
    if payment is None or payment.session_id is not None:
        return None  # a session's hold is settled with the session
    status = PaymentStatus(payment.status)
    if not status.live:
        return None
    reference = payment.reference or f"hold:{payment.id}"
    if status is PaymentStatus.PLANNED or payment.authorization_id is None:
        return ReleaseStep(hold_id=payment.id, reference=reference, authorization_id=None, key=None)
    previous = await latest_call(db=db, subject=reference, operation="cancel")
    if previous is not None and CallState(previous.state).open:
        key = previous.idempotency_key  # the provider's key window covers a prompt retry
    else:
        key = (
            await store_call(
                db=db, provider=payment.provider, operation="cancel", subject=reference, now=now
            )
        ).idempotency_key
    return ReleaseStep(
        hold_id=payment.id,
        reference=reference,
        authorization_id=payment.authorization_id,
        key=key,
    )


async def _record(
    *, db: AsyncSession, step: ReleaseStep, found: Authorization | None, now: datetime
) -> bool:
    """True when another round is needed (a hold found authorized must still be canceled)."""
    payment = await PaymentRepository(db).get_for_update(id=step.hold_id)
    assert payment is not None
    if found is None:
        # The provider holds nothing for this reference: nothing was ever authorized.
        if payment.status == PaymentStatus.PLANNED.value:
            payment.status = PaymentStatus.RELEASED.value
            payment.updated_at = now
            call = await latest_call(db=db, subject=step.reference, operation="authorize")
            if call is not None:
                finish_call(call, state=CallState.FAILED, error="not found at provider", now=now)
        await db.flush()
        return False
    await apply_authorization(db=db, payment=payment, authorization=found, now=now)
    if step.key is not None:
        call = await get_call(db=db, key=step.key)
        if call is not None:
            finish_call(call, state=CallState.SUCCEEDED, object_id=found.id, now=now)
    await db.flush()
    return PaymentStatus(payment.status).live and payment.session_id is None


class HoldNotIncreased(PaymentsError):
    """The provider refused the increment (declined, or not available on this hold)."""


async def increment_hold(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    hold_id: int,
    new_total: Money,
) -> Payment:
    """Raise an authorized hold to `new_total` (where the provider offers increments); the
    session's spending limit is the caller's to raise from the result."""
    async with context.unit_of_work() as db:
        payment = await PaymentRepository(db).get_for_update(id=hold_id)
        if payment is None:
            raise NotFound(kind="hold", key=hold_id)
        if payment.status != PaymentStatus.AUTHORIZED.value or payment.authorization_id is None:
            raise HoldNotCapturable(f"hold {hold_id} is {payment.status}, not authorized")
        if new_total.currency != payment.currency or minor(new_total) <= payment.authorized_minor:
            raise InvalidRequest("must be above the authorized amount", field="new_total")
        call = await store_call(
            db=db,
            provider=payment.provider,
            operation="increment",
            subject=payment.reference or f"hold:{payment.id}",
            amount_minor=minor(new_total),
            now=context.clock.now(),
        )
        key, authorization_id = call.idempotency_key, payment.authorization_id
        await db.commit()
    refused: ProviderError | None = None
    found: Authorization | None = None
    try:
        found = await provider.increment(
            idempotency_key=key, authorization_id=authorization_id, new_total=new_total
        )
    except OutcomeUnknown:
        found = await provider.retrieve_authorization(authorization_id=authorization_id)
    except ProviderError as error:
        refused = error
    async with context.unit_of_work() as db:
        payment = await PaymentRepository(db).get_for_update(id=hold_id)
        assert payment is not None
        call_row = await get_call(db=db, key=key)
        assert call_row is not None
        now = context.clock.now()
        if found is not None:
            await apply_authorization(db=db, payment=payment, authorization=found, now=now)
            done = payment.authorized_minor >= minor(new_total)
            state = CallState.SUCCEEDED if done else CallState.FAILED
            finish_call(call_row, state=state, object_id=found.id, now=now)
        else:
            finish_call(call_row, state=CallState.FAILED, error=refused, now=now)
        await db.commit()
    if refused is not None:
        raise HoldNotIncreased(str(refused)) from refused
    return payment


async def unused_holds(*, db: AsyncSession, policy: HoldPolicy, now: datetime) -> list[int]:
    """Live holds no session took within `policy.unused_hold_after`."""
    before = now - policy.unused_hold_after
    return list(
        await PaymentRepository(db).unused_before(created_before=before, limit=_SWEEP_BATCH)
    )
