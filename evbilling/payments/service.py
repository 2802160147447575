"""What every payment flow shares: bringing a hold in line with the provider's view of it
(forward only, with its ledger entries), settling a session's charge from its hold, and the
operator's reads (payments, receivables, totals).

`apply_authorization` is the one place a hold's state changes from what the provider says,
whoever learnt it (a job's answer, a retrieve, a webhook): applying the same view twice, or
an older view after a newer one, changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.repository import KeysetPage, PageRequest
from evbilling.infra.validation import check_page, record_id
from evbilling.kit import InvalidRequest, NotFound
from evbilling.models import Payment, PaymentRefund, SessionCharge
from evbilling.money import InvalidAmount, Money
from evbilling.payments import bookings
from evbilling.payments.calls import finish_call, latest_call
from evbilling.payments.domain import (
    CallState,
    ChargeStatus,
    PaymentStatus,
    ShortfallReason,
)
from evbilling.payments.psp import Authorization, AuthorizationStatus
from evbilling.payments.repository import ChargeRepository, PaymentRepository, RefundRepository

_PROVIDER_STATUS = {
    AuthorizationStatus.AUTHORIZED: PaymentStatus.AUTHORIZED,
    AuthorizationStatus.CAPTURED: PaymentStatus.CAPTURED,
    AuthorizationStatus.CANCELED: PaymentStatus.RELEASED,
    AuthorizationStatus.FAILED: PaymentStatus.FAILED,
}


def minor(money: Money) -> int:
    return money.rounded().minor_units()


async def apply_authorization(
    *, db: AsyncSession, payment: Payment, authorization: Authorization, now: datetime
) -> bool:
    """Move the (locked) hold forward to what the provider says; True when it moved. The
    ledger follows: authorized -> the hold's pending transfer; captured -> posted with the
    captured amount; released -> voided."""
    target = _PROVIDER_STATUS[authorization.status]
    current = PaymentStatus(payment.status)
    if payment.authorization_id is None:
        payment.authorization_id = authorization.id
    if not current.can_move(target):
        # Same state or a step back (an older event): only what grows is taken.
        if current is PaymentStatus.AUTHORIZED and target is PaymentStatus.AUTHORIZED:
            return await _take_increment(
                db=db, payment=payment, authorization=authorization, now=now
            )
        return False
    if target in (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED):
        if current is PaymentStatus.PLANNED:
            await _authorized(db=db, payment=payment, authorization=authorization, now=now)
    if target is PaymentStatus.CAPTURED:
        captured = minor(authorization.captured)
        payment.captured_minor = captured
        payment.captured_at = now
        if captured > 0:
            await bookings.book_capture(db=db, payment=payment, amount_minor=captured, now=now)
        else:
            await bookings.book_release(db=db, payment=payment, now=now)
    elif target is PaymentStatus.RELEASED:
        await bookings.book_release(db=db, payment=payment, now=now)
    elif target is PaymentStatus.FAILED:
        payment.decline_code = authorization.decline_code
    payment.status = target.value
    payment.updated_at = now
    await _close_open_calls(db=db, payment=payment, authorization=authorization, now=now)
    await db.flush()
    return True


async def _authorized(
    *, db: AsyncSession, payment: Payment, authorization: Authorization, now: datetime
) -> None:
    payment.authorized_minor = minor(authorization.authorized)
    payment.capture_before = authorization.capture_before
    payment.status = PaymentStatus.AUTHORIZED.value
    if payment.authorized_minor > 0 and payment.ledger_pending_id is None:
        payment.ledger_pending_id = await bookings.book_hold(db=db, payment=payment, now=now)


async def _take_increment(
    *, db: AsyncSession, payment: Payment, authorization: Authorization, now: datetime
) -> bool:
    """A larger authorized amount (an increment): the ledger's hold is booked again for it
    (the old pending transfer voided, a new one opened), so a capture up to it posts."""
    authorized = minor(authorization.authorized)
    if authorized <= payment.authorized_minor:
        return False
    payment.authorized_minor = authorized
    payment.capture_before = authorization.capture_before or payment.capture_before
    payment.updated_at = now
    payment.ledger_pending_id = await bookings.rebook_hold(db=db, payment=payment, now=now)
    await db.flush()
    return True


async def _close_open_calls(
    *, db: AsyncSession, payment: Payment, authorization: Authorization, now: datetime
) -> None:
    """A call whose effect the provider now shows is done, whoever learnt it first."""
    subject = f"hold:{payment.id}"
    done = {
        AuthorizationStatus.AUTHORIZED: ("authorize",),
        AuthorizationStatus.CAPTURED: ("authorize", "capture"),
        AuthorizationStatus.CANCELED: ("authorize", "cancel"),
        AuthorizationStatus.FAILED: (),
    }[authorization.status]
    for operation in done:
        call = await latest_call(db=db, subject=subject, operation=operation)
        if call is not None and CallState(call.state).open:
            finish_call(call, state=CallState.SUCCEEDED, object_id=authorization.id, now=now)


async def settle_charge(
    *, db: AsyncSession, charge: SessionCharge, payment: Payment | None, now: datetime
) -> bool:
    """A charge whose capture (or release) is done: captured from the hold, the rest left as
    a receivable on the driver. True when it settled now."""
    if charge.status == ChargeStatus.SETTLED.value:
        return False
    status = None if payment is None else PaymentStatus(payment.status)
    if status in (PaymentStatus.PLANNED, PaymentStatus.AUTHORIZED):
        return False  # still held: the capture or release has not happened yet
    captured = payment.captured_minor if payment is not None else 0
    charge.captured_minor = min(captured, charge.total_minor)
    charge.receivable_minor = charge.total_minor - charge.captured_minor - charge.written_off_minor
    if charge.receivable_minor > 0 and charge.shortfall_reason == ShortfallReason.NONE.value:
        charge.shortfall_reason = (
            ShortfallReason.ABOVE_HOLD.value if captured > 0 else ShortfallReason.NO_HOLD.value
        )
    if charge.driver_id is None:  # booked to written_off at the sale: nobody owes it
        charge.written_off_minor += charge.receivable_minor
        charge.receivable_minor = 0
    charge.status = ChargeStatus.SETTLED.value
    charge.updated_at = now
    await db.flush()
    return True


# -- reads --------------------------------------------------------------------------------


async def get_payment(*, db: AsyncSession, operator_id: int, payment_id: int) -> Payment:
    return await PaymentRepository(db).get_owned(
        id=record_id(payment_id, field="payment_id"), owner_id=operator_id
    )


async def list_payments(
    *,
    db: AsyncSession,
    operator_id: int,
    limit: int = 50,
    after: int | None = None,
    driver_id: int | None = None,
) -> KeysetPage[Payment]:
    check_page_limit(limit)
    return await PaymentRepository(db).list_page(
        operator_id=operator_id, limit=limit, after=after, driver_id=driver_id
    )


def check_page_limit(limit: int) -> None:
    check_page(PageRequest(limit=limit))


async def list_refunds(
    *, db: AsyncSession, operator_id: int, payment_id: int
) -> list[PaymentRefund]:
    await get_payment(db=db, operator_id=operator_id, payment_id=payment_id)
    return list(await RefundRepository(db).for_payment(payment_id=payment_id))


async def list_receivables(
    *, db: AsyncSession, operator_id: int, limit: int = 50, after: int | None = None
) -> KeysetPage[SessionCharge]:
    """Settled sessions a driver still owes money for (the shortfall of a capture, a session
    below the provider's minimum, a session without a card), newest first."""
    check_page_limit(limit)
    return await ChargeRepository(db).receivables(operator_id=operator_id, limit=limit, after=after)


# Charges whose amount is owed elsewhere than on the driver's receivable.
NOT_DRIVER_OWED = frozenset({"postpaid", "fixed_fee"})


async def write_off(
    *,
    db: AsyncSession,
    operator_id: int,
    session_id: int,
    amount: Decimal | None,
    now: datetime,
) -> SessionCharge:
    """Give up (part of) what a driver owes for a session: Dr written_off / Cr the driver's
    receivable; `amount` None: all of it. Never more than is owed."""
    charge = await ChargeRepository(db).for_session(session_id=session_id, lock=True)
    if charge is None or charge.operator_id != operator_id:
        raise NotFound(kind="session charge", key=session_id)
    if charge.payment_kind in NOT_DRIVER_OWED:
        raise InvalidRequest(
            f"session {session_id} is owed through its {charge.payment_kind} route, "
            "not by the driver",
            field="session_id",
        )
    if amount is None:
        amount_minor = charge.receivable_minor
    else:
        try:
            amount_minor = Money.of(amount, charge.currency).minor_units()
        except InvalidAmount as exc:
            raise InvalidRequest(str(exc), field="amount") from exc
    if amount_minor <= 0 or amount_minor > charge.receivable_minor:
        raise InvalidRequest(
            f"must be more than 0 and at most the {charge.receivable_minor} minor units owed",
            field="amount",
        )
    await bookings.book_write_off(db=db, charge=charge, amount_minor=amount_minor, now=now)
    charge.receivable_minor -= amount_minor
    charge.written_off_minor += amount_minor
    charge.updated_at = now
    await db.flush()
    return charge


async def get_charge(*, db: AsyncSession, operator_id: int, session_id: int) -> SessionCharge:
    charge = await ChargeRepository(db).for_session(session_id=session_id)
    if charge is None or charge.operator_id != operator_id:
        raise NotFound(kind="session charge", key=session_id)
    return charge
