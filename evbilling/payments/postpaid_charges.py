"""A postpaid statement paid with the payer's saved card (docs/postpaid.md), in the three
steps of every provider call (docs/payments.md): the call and its idempotency key are stored
and committed, the provider is called with no transaction open, the outcome is recorded in a
new transaction. Authorize, then capture, each its own stored call:

    plan (payment row "pending" + authorize call) -> COMMIT -> authorize
    -> record (capture call stored) -> COMMIT -> capture
    -> record: payment "succeeded", Dr psp_clearing / Cr postpaid_receivable

A call whose answer was lost leaves the payment pending with its call `unknown` (settled by
retrieving the authorization, as for holds); a decline marks the payment failed and books
nothing. The amount is what the statement still has due, never more than the account owes.
"""

from __future__ import annotations

from dataclasses import dataclass

from evbilling.infra.context import ServiceContext
from evbilling.kit.errors import Conflict
from evbilling.ledger.domain import AccountRef
from evbilling.models import PostpaidPayment
from evbilling.money import Money
from evbilling.payments.calls import finish_call, get_call, store_call
from evbilling.payments.domain import CallState
from evbilling.payments.psp import Authorization, OutcomeUnknown, PaymentProvider, ProviderError
from evbilling.payments.repository import MethodRepository
from evbilling.postpaid.domain import NoPayerCard, PaymentMethod, PaymentStatus
from evbilling.postpaid.received import book_received
from evbilling.postpaid.repository import PaymentRepository
from evbilling.postpaid.service import get_account, outstanding_minor
from evbilling.postpaid.statements import get_statement


@dataclass(frozen=True, slots=True)
class PlannedCharge:
    payment_id: int
    subject: str
    authorize_key: str
    customer_id: str
    method_id: str
    amount: Money


class NothingDue(Conflict):
    """The statement has nothing left to pay (or the account owes nothing)."""


async def _plan(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    operator_id: int,
    account_id: int,
    statement_id: int,
) -> PlannedCharge:
    now = context.clock.now()
    async with context.unit_of_work() as db:
        account = await get_account(db=db, operator_id=operator_id, account_id=account_id)
        found = await get_statement(
            db=db, operator_id=operator_id, account_id=account_id, statement_id=statement_id
        )
        if account.payer_driver_id is None:
            raise NoPayerCard(f"postpaid account {account_id} has no payer")
        method = await MethodRepository(db).default_for(driver_id=account.payer_driver_id)
        if method is None or method.operator_id != operator_id or method.provider != provider.name:
            raise NoPayerCard(f"the payer of postpaid account {account_id} has no saved card")
        owed = await outstanding_minor(db=db, account=account)
        due = min(found.due_minor, owed)
        if due <= 0:
            raise NothingDue(f"statement {statement_id} has nothing due")
        amount = provider.round_down(Money.from_minor_units(due, account.currency))
        payments = PaymentRepository(db)
        attempt = (
            await payments.of_account(
                operator_id=operator_id, account_id=account_id, limit=1, offset=0
            )
        ).total + 1
        payment = payments.add(
            PostpaidPayment(
                operator_id=operator_id,
                account_id=account_id,
                statement_id=statement_id,
                method=PaymentMethod.CARD.value,
                reference=f"statement:{statement_id}:{attempt}",
                currency=account.currency,
                amount_minor=amount.minor_units(),
                status=PaymentStatus.PENDING.value,
                provider=provider.name,
                driver_id=account.payer_driver_id,
                created_at=now,
                updated_at=now,
            )
        )
        await payments.flush()
        subject = f"postpaid-payment:{payment.id}"
        call = await store_call(
            db=db,
            provider=provider.name,
            operation="authorize",
            subject=subject,
            amount_minor=payment.amount_minor,
            now=now,
        )
        planned = PlannedCharge(
            payment_id=payment.id,
            subject=subject,
            authorize_key=call.idempotency_key,
            customer_id=method.provider_customer_id,
            method_id=method.provider_method_id,
            amount=amount,
        )
        await db.commit()
    return planned


async def _fail(
    *, context: ServiceContext, payment_id: int, key: str, error: BaseException, unknown: bool
) -> None:
    now = context.clock.now()
    async with context.unit_of_work() as db:
        payment = await PaymentRepository(db).get_for_update(id=payment_id)
        call = await get_call(db=db, key=key)
        if call is not None:
            state = CallState.UNKNOWN if unknown else CallState.FAILED
            finish_call(call, state=state, error=error, now=now)
        if payment is not None:
            if not unknown:
                payment.status = PaymentStatus.FAILED.value
            payment.error = f"{type(error).__name__}: {error}"[:500]
            payment.updated_at = now
        await db.commit()


async def charge_statement(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    operator_id: int,
    account_id: int,
    statement_id: int,
) -> PostpaidPayment:
    """Pay what the statement has due with the payer's default card; the payment as it
    ended (succeeded, failed, or pending when an answer was lost)."""
    planned = await _plan(
        context=context,
        provider=provider,
        operator_id=operator_id,
        account_id=account_id,
        statement_id=statement_id,
    )
    try:
        authorization = await provider.authorize(
            idempotency_key=planned.authorize_key,
            reference=planned.subject,
            customer_id=planned.customer_id,
            method_id=planned.method_id,
            amount=planned.amount,
            off_session=True,
        )
    except (OutcomeUnknown, ProviderError) as exc:
        await _fail(
            context=context,
            payment_id=planned.payment_id,
            key=planned.authorize_key,
            error=exc,
            unknown=isinstance(exc, OutcomeUnknown),
        )
        return await _payment(context, planned.payment_id)
    capture_key = await _authorized(context, planned=planned, authorization=authorization)
    try:
        captured = await provider.capture(
            idempotency_key=capture_key,
            authorization_id=authorization.id,
            amount=authorization.authorized,
        )
    except (OutcomeUnknown, ProviderError) as exc:
        await _fail(
            context=context,
            payment_id=planned.payment_id,
            key=capture_key,
            error=exc,
            unknown=isinstance(exc, OutcomeUnknown),
        )
        return await _payment(context, planned.payment_id)
    await _captured(context, planned=planned, key=capture_key, captured=captured)
    return await _payment(context, planned.payment_id)


async def _authorized(
    context: ServiceContext, *, planned: PlannedCharge, authorization: Authorization
) -> str:
    """The authorization recorded and the capture call stored (committed before it is made)."""
    now = context.clock.now()
    async with context.unit_of_work() as db:
        call = await get_call(db=db, key=planned.authorize_key)
        if call is not None:
            finish_call(call, state=CallState.SUCCEEDED, object_id=authorization.id, now=now)
        payment = await PaymentRepository(db).get_for_update(id=planned.payment_id)
        assert payment is not None
        payment.authorization_id = authorization.id
        payment.amount_minor = authorization.authorized.minor_units()
        payment.updated_at = now
        capture = await store_call(
            db=db,
            provider=payment.provider or "",
            operation="capture",
            subject=planned.subject,
            amount_minor=payment.amount_minor,
            now=now,
        )
        key = capture.idempotency_key
        await db.commit()
    return key


async def _captured(
    context: ServiceContext, *, planned: PlannedCharge, key: str, captured: Authorization
) -> None:
    now = context.clock.now()
    async with context.unit_of_work() as db:
        call = await get_call(db=db, key=key)
        if call is not None:
            finish_call(call, state=CallState.SUCCEEDED, object_id=captured.id, now=now)
        payment = await PaymentRepository(db).get_for_update(id=planned.payment_id)
        assert payment is not None
        if payment.status != PaymentStatus.SUCCEEDED.value:
            payment.status = PaymentStatus.SUCCEEDED.value
            payment.amount_minor = captured.captured.minor_units()
            payment.updated_at = now
            await db.flush()
            clearing = AccountRef.psp_clearing(
                provider=payment.provider or "", currency=payment.currency
            )
            await book_received(db=db, payment=payment, debit=clearing, now=now)
        await db.commit()


async def _payment(context: ServiceContext, payment_id: int) -> PostpaidPayment:
    async with context.unit_of_work() as db:
        row = await PaymentRepository(db).get(id=payment_id)
        assert row is not None
        db.expunge(row)
    return row
