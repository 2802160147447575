"""Wallet top-ups charged to the driver's saved card, and the refund of a closed wallet's
balance to the cards it came from (docs/wallets.md). Every provider call is stored with its
idempotency key and committed before it is made (payments.calls), made with no transaction
open, and its outcome recorded in a transaction of its own:

    1. plan (refusals change nothing): the minimum top-up, the maximum balance, a saved card;
       the top-up row and its `authorize` call            -> COMMIT
    2. authorize                                            (no transaction)
    3. the authorization recorded, the `capture` call stored -> COMMIT
    4. capture                                              (no transaction)
    5. captured: the wallet credited (Dr psp_clearing / Cr wallet) -> COMMIT

The wallet is credited only when the capture succeeded. An answer lost in between leaves
the top-up `unknown` (nothing credited) for the operator to settle with the provider's
object; a declined card leaves it `failed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.kit import Conflict, NotFound
from evbilling.ledger.domain import AccountRef
from evbilling.models import ProviderCall, WalletTopup
from evbilling.money import Money
from evbilling.payments.calls import finish_call, get_call, latest_call, store_call
from evbilling.payments.domain import CallState
from evbilling.payments.psp import OutcomeUnknown, PaymentProvider, ProviderError
from evbilling.payments.repository import MethodRepository
from evbilling.wallets import booking
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import (
    TopupStatus,
    WalletLimits,
    WalletMovement,
    WalletStatus,
    checked_amount,
    limit_applies,
)
from evbilling.wallets.errors import BalanceLimitExceeded, TopUpTooSmall, WalletClosed
from evbilling.wallets.repository import TopupRepository, WalletRepository

CARD_SETUP_HINT = (
    "save a card first: POST /api/app/v1/payment-methods/setups (app) or "
    "POST /api/v1/drivers/{id}/card-setups (operator)"
)


class NoSavedCard(Conflict):
    """The driver has no saved card to charge a top-up to."""


class TopUpDeclined(Conflict):
    """The provider declined the card: nothing was charged, nothing credited."""


class TopUpUnknown(Conflict):
    """The provider's answer was lost: nothing is credited until the top-up is settled."""


@dataclass(frozen=True, slots=True)
class TopUpResult:
    topup_id: int
    status: TopupStatus
    amount: Money
    movement: WalletMovement | None


async def plan_topup(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int,
    amount: Money,
    provider: str,
    limits: WalletLimits,
    now: datetime,
) -> WalletTopup:
    """Phase 1 (flushes; the caller commits). Refused with nothing changed below the minimum
    top-up, above the maximum balance, for a closed wallet, or without a saved card."""
    amount_minor = checked_amount(amount)
    if limit_applies(limits.min_topup, amount.currency) and amount.amount < limits.min_topup.amount:
        raise TopUpTooSmall(f"the smallest top-up is {limits.min_topup}", field="amount")
    method = await MethodRepository(db).default_for(driver_id=driver_id)
    view = await wallets.open_wallet(
        db=db, operator_id=operator_id, driver_id=driver_id, currency=amount.currency, now=now
    )
    if view.status is not WalletStatus.OPEN:
        raise WalletClosed(f"wallet {view.wallet_id} is closed")
    if method is None or method.operator_id != operator_id or method.provider != provider:
        raise NoSavedCard(f"the driver has no saved card: {CARD_SETUP_HINT}")
    topups = TopupRepository(db)
    if limit_applies(limits.max_balance, amount.currency):
        # Under the wallet's row lock, so concurrent top-ups are decided one after the
        # other, each counting those still in flight: together they never pass the maximum.
        wallet = await WalletRepository(db).reload(view.wallet_id, lock=True)
        assert wallet is not None, "the wallet was just opened"
        in_flight = await topups.in_flight_minor(wallet_id=wallet.id)
        after = wallet.available_minor + wallet.reserved_minor + in_flight + amount_minor
        if after > limits.max_balance.minor_units():
            pending = " with the top-ups still in progress" if in_flight else ""
            raise BalanceLimitExceeded(
                f"the balance would exceed the maximum of {limits.max_balance}{pending}",
                field="amount",
            )
    topup = topups.add(
        WalletTopup(
            operator_id=operator_id,
            wallet_id=view.wallet_id,
            driver_id=driver_id,
            provider=method.provider,
            provider_customer_id=method.provider_customer_id,
            provider_method_id=method.provider_method_id,
            currency=amount.currency,
            amount_minor=amount_minor,
            refunded_minor=0,
            status=TopupStatus.PLANNED.value,
            created_at=now,
            updated_at=now,
        )
    )
    await topups.flush()
    topup.reference = f"topup:{topup.id}"
    await store_call(
        db=db,
        provider=method.provider,
        operation="authorize",
        subject=topup.reference,
        amount_minor=amount_minor,
        now=now,
    )
    await topups.flush()
    return topup


async def _topup(db: AsyncSession, topup_id: int) -> WalletTopup:
    topup = await TopupRepository(db).get_for_update(id=topup_id)
    if topup is None:
        raise NotFound(kind="wallet top-up", key=topup_id)
    return topup


async def _call(db: AsyncSession, *, subject: str, operation: str) -> ProviderCall:
    call = await latest_call(db=db, subject=subject, operation=operation)
    assert call is not None, "the call was stored before it was made"
    return call


async def top_up(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    operator_id: int,
    driver_id: int,
    amount: Money,
    limits: WalletLimits,
) -> TopUpResult:
    """Charge `amount` to the driver's saved card and credit the wallet once captured."""
    async with context.unit_of_work() as db:
        planned = await plan_topup(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            amount=amount,
            provider=provider.name,
            limits=limits,
            now=context.clock.now(),
        )
        topup_id, reference = planned.id, planned.reference
        customer_id, method_id = planned.provider_customer_id, planned.provider_method_id
        authorize_key = (
            await _call(db, subject=reference or "", operation="authorize")
        ).idempotency_key
        await db.commit()
    assert reference is not None
    try:
        authorization = await provider.authorize(
            idempotency_key=authorize_key,
            reference=reference,
            customer_id=customer_id,
            method_id=method_id,
            amount=amount,
            off_session=False,
            statement_descriptor="wallet top-up",
        )
    except OutcomeUnknown as exc:
        await _finish(context, topup_id, key=authorize_key, state=CallState.UNKNOWN, error=exc)
        raise TopUpUnknown("the provider's answer was lost: the top-up is not credited") from exc
    except ProviderError as exc:
        await _finish(context, topup_id, key=authorize_key, state=CallState.FAILED, error=exc)
        raise TopUpDeclined(f"the card was declined: {exc.code}") from exc
    if authorization.authorized != amount:
        await _finish(
            context,
            topup_id,
            key=authorize_key,
            state=CallState.SUCCEEDED,
            object_id=authorization.id,
        )
        await provider.cancel(
            idempotency_key=f"cancel:{reference}:1", authorization_id=authorization.id
        )
        raise TopUpDeclined("the card authorized only part of the amount: nothing was charged")
    async with context.unit_of_work() as db:
        topup = await _topup(db, topup_id)
        call = await get_call(db=db, key=authorize_key)
        assert call is not None
        finish_call(
            call, state=CallState.SUCCEEDED, object_id=authorization.id, now=context.clock.now()
        )
        topup.authorization_id = authorization.id
        topup.status = TopupStatus.AUTHORIZED.value
        topup.updated_at = context.clock.now()
        capture_call = await store_call(
            db=db,
            provider=topup.provider,
            operation="capture",
            subject=reference,
            amount_minor=topup.amount_minor,
            now=context.clock.now(),
        )
        capture_key = capture_call.idempotency_key
        await db.commit()
    try:
        await provider.capture(
            idempotency_key=capture_key, authorization_id=authorization.id, amount=amount
        )
    except OutcomeUnknown as exc:
        await _finish(context, topup_id, key=capture_key, state=CallState.UNKNOWN, error=exc)
        raise TopUpUnknown("the provider's answer was lost: the top-up is not credited") from exc
    except ProviderError as exc:
        await _finish(context, topup_id, key=capture_key, state=CallState.FAILED, error=exc)
        raise TopUpDeclined(f"the capture was refused: {exc.code}") from exc
    async with context.unit_of_work() as db:
        topup = await _topup(db, topup_id)
        call = await get_call(db=db, key=capture_key)
        assert call is not None
        finish_call(
            call, state=CallState.SUCCEEDED, object_id=authorization.id, now=context.clock.now()
        )
        topup.status = TopupStatus.CAPTURED.value
        topup.updated_at = context.clock.now()
        movement = await wallets.credit_topup(
            db=db,
            wallet_id=topup.wallet_id,
            amount=amount,
            reference=reference,
            provider=topup.provider,
            now=context.clock.now(),
        )
        await db.commit()
    return TopUpResult(
        topup_id=topup_id, status=TopupStatus.CAPTURED, amount=amount, movement=movement
    )


async def _finish(
    context: ServiceContext,
    topup_id: int,
    *,
    key: str,
    state: CallState,
    error: BaseException | None = None,
    object_id: str | None = None,
) -> None:
    async with context.unit_of_work() as db:
        topup = await _topup(db, topup_id)
        call = await get_call(db=db, key=key)
        if call is not None:
            finish_call(
                call, state=state, error=error, object_id=object_id, now=context.clock.now()
            )
        if state is CallState.FAILED:
            topup.status = TopupStatus.FAILED.value
            if isinstance(error, ProviderError):
                topup.decline_code = error.code[:60]
        elif state is CallState.UNKNOWN:
            topup.status = TopupStatus.UNKNOWN.value
        elif state is CallState.SUCCEEDED and object_id is not None:
            topup.authorization_id = object_id
            topup.status = TopupStatus.FAILED.value  # a partial authorization, canceled
            topup.decline_code = "partial_authorization"
        topup.updated_at = context.clock.now()
        await db.commit()


# ---------------------------------------------------------------------------------------------
# Closure: the unused balance back to the cards it came from


@dataclass(frozen=True, slots=True)
class WalletClosure:
    balance: Money  # taken out of the wallet
    refunded: Money  # returned to cards through the provider
    payout: Money  # left owed in refunds_payable: the operator pays it out


async def close_and_refund(
    *, context: ServiceContext, provider: PaymentProvider, operator_id: int, driver_id: int
) -> WalletClosure:
    """Close the wallet (its balance to refunds_payable), then refund the captured top-ups
    newest first until the balance is back on the cards (Dr refunds_payable / Cr
    psp_clearing per refund). What no top-up can return (goodwill, a refund refused) stays
    in refunds_payable as an operator payout, as the closure entry notes."""
    async with context.unit_of_work() as db:
        closed = await wallets.close_wallet_detailed(
            db=db, operator_id=operator_id, driver_id=driver_id, now=context.clock.now()
        )
        plan: list[tuple[int, int, str]] = []  # (top-up id, amount, call key)
        remaining = closed.refundable.minor_units()
        for topup in await TopupRepository(db).refundable(wallet_id=closed.wallet_id):
            if remaining <= 0 or topup.provider != provider.name:
                continue
            share = min(remaining, topup.amount_minor - topup.refunded_minor)
            call = await store_call(
                db=db,
                provider=topup.provider,
                operation="refund",
                subject=f"{topup.reference}:closure",
                amount_minor=share,
                now=context.clock.now(),
            )
            plan.append((topup.id, share, call.idempotency_key))
            remaining -= share
        await db.commit()
    currency = closed.balance.currency
    refunded = 0
    for topup_id, share, key in plan:
        if await _refund_one(context, provider, topup_id=topup_id, share=share, key=key):
            refunded += share
    return WalletClosure(
        balance=closed.balance,
        refunded=Money.from_minor_units(refunded, currency),
        payout=closed.balance - Money.from_minor_units(refunded, currency),
    )


async def _refund_one(
    context: ServiceContext, provider: PaymentProvider, *, topup_id: int, share: int, key: str
) -> bool:
    async with context.unit_of_work() as db:
        topup = await _topup(db, topup_id)
        authorization_id, reference, currency = (
            topup.authorization_id,
            topup.reference,
            topup.currency,
        )
    assert authorization_id is not None
    assert reference is not None
    amount = Money.from_minor_units(share, currency)
    try:
        refund = await provider.refund(
            idempotency_key=key,
            reference=f"{reference}:closure",
            authorization_id=authorization_id,
            amount=amount,
        )
        error: BaseException | None = None
    except (OutcomeUnknown, ProviderError) as exc:
        refund, error = None, exc
    async with context.unit_of_work() as db:
        topup = await _topup(db, topup_id)
        call = await get_call(db=db, key=key)
        now = context.clock.now()
        if refund is None or call is None:
            if call is not None:
                finish_call(call, state=CallState.FAILED, error=error, now=now)
            await db.commit()
            return False
        finish_call(call, state=CallState.SUCCEEDED, object_id=refund.id, now=now)
        topup.refunded_minor += share
        topup.updated_at = now
        await booking.transfer(
            db=db,
            reference=f"wallet-refund:{topup.id}",
            description=f"closure refund of top-up {reference} through {topup.provider}",
            debit=AccountRef.refunds_payable(operator_id=topup.operator_id, currency=currency),
            credit=AccountRef.psp_clearing(provider=topup.provider, currency=currency),
            amount_minor=share,
            now=now,
        )
        await db.commit()
    return True
