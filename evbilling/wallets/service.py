"""Wallet use cases: open, read, credit (goodwill, card top-up), debit, movements, closure;
the reservations around sessions are in `reservations` and re-exported here.

Every function is keyword-only, takes `db` (the caller's transaction) and, when it writes,
`now`; it flushes but never commits. Each change of the wallet's cached amounts is a guarded
UPDATE (repository) in the same transaction as its ledger entry, so the cache always equals
what the ledger says: available + reserved = the posted balance of the wallet account, and
reserved = the live reservations (pending transfers). The balance never goes below zero.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers.repository import DriverRepository
from evbilling.infra.db.repository import KeysetPage
from evbilling.kit import InvalidRequest, NotFound
from evbilling.ledger.domain import AccountRef
from evbilling.ledger.repository import LedgerRepository
from evbilling.models import Wallet
from evbilling.money import InvalidCurrency, Money, validate_currency
from evbilling.wallets import booking
from evbilling.wallets.domain import (
    ClosedWallet,
    WalletLimits,
    WalletMovement,
    WalletStatus,
    WalletView,
    check_reason,
    check_reference,
    checked_amount,
    limit_applies,
)
from evbilling.wallets.errors import (
    BalanceLimitExceeded,
    WalletBusy,
    WalletClosed,
    WalletCurrencyMismatch,
)
from evbilling.wallets.repository import (
    ReservationRepository,
    TopupRepository,
    WalletRepository,
    entry_booked,
)
from evbilling.wallets.reservations import (
    attach_reservation,
    release_reservation,
    release_unused,
    reserve_for_session,
    settle_reservation,
    sweep_unattached,
)

__all__ = [
    "ClosedWallet",
    "attach_reservation",
    "close_wallet",
    "credit_goodwill",
    "credit_topup",
    "debit",
    "get_wallet",
    "list_movements",
    "open_wallet",
    "release_reservation",
    "release_unused",
    "reserve_for_session",
    "settle_reservation",
    "sweep_unattached",
]

DEFAULT_LIMITS = WalletLimits()


async def _owned_driver(db: AsyncSession, *, operator_id: int, driver_id: int) -> None:
    await DriverRepository(db).get_owned(id=driver_id, owner_id=operator_id)


async def _open(
    db: AsyncSession, *, operator_id: int, driver_id: int, currency: str, now: datetime
) -> Wallet:
    wallets = WalletRepository(db)
    existing = await wallets.for_driver(driver_id=driver_id)
    if existing is not None:
        if existing.currency != currency:
            raise WalletCurrencyMismatch(
                f"the driver's wallet is in {existing.currency}, not {currency}", field="currency"
            )
        return existing
    try:
        validate_currency(currency)
    except InvalidCurrency as exc:
        raise InvalidRequest(str(exc), field="currency") from exc
    return await wallets.open_empty(
        operator_id=operator_id, driver_id=driver_id, currency=currency, now=now
    )


async def open_wallet(
    *, db: AsyncSession, operator_id: int, driver_id: int, currency: str, now: datetime
) -> WalletView:
    """The driver's wallet (one per driver), opened empty if it does not exist yet."""
    await _owned_driver(db, operator_id=operator_id, driver_id=driver_id)
    wallet = await _open(
        db, operator_id=operator_id, driver_id=driver_id, currency=currency, now=now
    )
    return booking.view_of(wallet)


async def get_wallet(*, db: AsyncSession, operator_id: int, driver_id: int) -> WalletView | None:
    """The driver's wallet; None when none was opened; NotFound for another operator's driver."""
    await _owned_driver(db, operator_id=operator_id, driver_id=driver_id)
    wallet = await WalletRepository(db).for_driver(driver_id=driver_id)
    return None if wallet is None else booking.view_of(wallet)


def _check_currency(wallet: Wallet, amount: Money) -> None:
    if amount.currency != wallet.currency:
        raise WalletCurrencyMismatch(
            f"the wallet is in {wallet.currency}, the amount in {amount.currency}", field="amount"
        )


async def _give(
    db: AsyncSession,
    *,
    wallet: Wallet,
    amount_minor: int,
    limits: WalletLimits | None,
    now: datetime,
) -> None:
    """available += amount (guarded), or the reason it was refused (nothing changed)."""
    cap = None
    if limits is not None and limit_applies(limits.max_balance, wallet.currency):
        cap = limits.max_balance.minor_units()
    if not await WalletRepository(db).give(
        wallet_id=wallet.id, amount_minor=amount_minor, max_balance_minor=cap, now=now
    ):
        current = await WalletRepository(db).reload(wallet.id)
        if current is None or current.status != WalletStatus.OPEN.value:
            raise WalletClosed(f"wallet {wallet.id} is closed")
        assert limits is not None
        raise BalanceLimitExceeded(
            f"the balance would exceed the maximum of {limits.max_balance}", field="amount"
        )


async def credit_goodwill(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int,
    amount: Money,
    reason: str,
    actor: str,
    now: datetime,
    limits: WalletLimits = DEFAULT_LIMITS,
) -> WalletMovement:
    """An operator's credit (reason required), up to the maximum balance: Dr wallet_funding /
    Cr wallet. Opens the wallet in the amount's currency when the driver has none."""
    reason = check_reason(reason)
    amount_minor = checked_amount(amount)
    await _owned_driver(db, operator_id=operator_id, driver_id=driver_id)
    wallet = await _open(
        db, operator_id=operator_id, driver_id=driver_id, currency=amount.currency, now=now
    )
    _check_currency(wallet, amount)
    await _give(db, wallet=wallet, amount_minor=amount_minor, limits=limits, now=now)
    reference = f"wallet-goodwill:{wallet.id}:{secrets.token_hex(8)}"
    await booking.transfer(
        db=db,
        reference=reference,
        description=f"goodwill credit by {actor[:80]}: {reason}",
        debit=AccountRef.wallet_funding(operator_id=operator_id, currency=wallet.currency),
        credit=booking.wallet_account(wallet),
        amount_minor=amount_minor,
        now=now,
    )
    return await booking.movement(db, wallet=wallet, reference=reference)


async def credit_topup(
    *,
    db: AsyncSession,
    wallet_id: int,
    amount: Money,
    reference: str,
    provider: str,
    now: datetime,
) -> WalletMovement:
    """A card top-up the provider captured: Dr psp_clearing / Cr wallet. Money captured is
    always booked (no maximum here: the caller checked it before charging the card); the same
    reference again returns the first credit."""
    check_reference(reference)
    amount_minor = checked_amount(amount)
    wallet = await WalletRepository(db).get(id=wallet_id)
    if wallet is None:
        raise NotFound(kind="wallet", key=wallet_id)
    _check_currency(wallet, amount)
    ledger_reference = f"wallet-topup:{reference}"
    if not await entry_booked(db, reference=ledger_reference):
        await _give(db, wallet=wallet, amount_minor=amount_minor, limits=None, now=now)
        await booking.transfer(
            db=db,
            reference=ledger_reference,
            description=f"card top-up {reference} through {provider}",
            debit=AccountRef.psp_clearing(provider=provider, currency=wallet.currency),
            credit=booking.wallet_account(wallet),
            amount_minor=amount_minor,
            now=now,
        )
    return await booking.movement(db, wallet=wallet, reference=ledger_reference)


async def debit(
    *, db: AsyncSession, wallet_id: int, amount: Money, reference: str, now: datetime
) -> bool:
    """Take `amount` from the wallet to pay what the driver owes (Dr wallet / Cr driver
    receivable); False, and nothing changed, when the balance would go below zero. The same
    reference again is the same debit (True, nothing taken twice)."""
    check_reference(reference)
    amount_minor = checked_amount(amount)
    wallets = WalletRepository(db)
    wallet = await wallets.get(id=wallet_id)
    if wallet is None:
        raise NotFound(kind="wallet", key=wallet_id)
    _check_currency(wallet, amount)
    ledger_reference = f"wallet-debit:{wallet_id}:{reference}"
    if await entry_booked(db, reference=ledger_reference):
        return True
    if not await wallets.take(
        wallet_id=wallet_id, amount_minor=amount_minor, reserve=False, now=now
    ):
        return False
    await booking.transfer(
        db=db,
        reference=ledger_reference,
        description=f"wallet debit {reference}",
        debit=booking.wallet_account(wallet),
        credit=AccountRef.driver_receivable(driver_id=wallet.driver_id, currency=wallet.currency),
        amount_minor=amount_minor,
        now=now,
    )
    return True


async def list_movements(
    *, db: AsyncSession, operator_id: int, driver_id: int, limit: int, after: int | None
) -> KeysetPage[WalletMovement]:
    """The wallet's posted movements, newest first (keyset pages over ledger line ids)."""
    await _owned_driver(db, operator_id=operator_id, driver_id=driver_id)
    wallets = WalletRepository(db)
    wallet = await wallets.for_driver(driver_id=driver_id)
    if wallet is None:
        return KeysetPage(rows=[], limit=limit, next_after=None)
    account_id = await LedgerRepository(db).account_id(booking.wallet_account(wallet))
    if account_id is None:
        return KeysetPage(rows=[], limit=limit, next_after=None)
    page = await wallets.movements(account_id=account_id, limit=limit, after=after)
    return KeysetPage(
        rows=[booking.movement_of(line, entry) for line, entry in page.rows],
        limit=page.limit,
        next_after=page.next_after,
    )


async def close_wallet(
    *, db: AsyncSession, operator_id: int, driver_id: int, now: datetime
) -> Money:
    """Close the driver's wallet and take out its balance (returned): Dr wallet / Cr
    refunds_payable. The unused balance goes back to the cards it came from
    (payments.wallet_topups refunds the top-ups, newest first); what no top-up can return
    (goodwill, refunds the provider refuses) stays owed in refunds_payable as an operator
    payout, as the entry's description says. Refused while a session holds a reservation."""
    closed = await close_wallet_detailed(
        db=db, operator_id=operator_id, driver_id=driver_id, now=now
    )
    return closed.balance


async def close_wallet_detailed(
    *, db: AsyncSession, operator_id: int, driver_id: int, now: datetime
) -> ClosedWallet:
    await _owned_driver(db, operator_id=operator_id, driver_id=driver_id)
    wallets = WalletRepository(db)
    wallet = await wallets.for_driver(driver_id=driver_id, lock=True)
    if wallet is None:
        raise NotFound(kind="wallet of driver", key=driver_id)
    currency = wallet.currency
    if wallet.status == WalletStatus.CLOSED.value:
        zero = Money.zero(currency)
        return ClosedWallet(wallet_id=wallet.id, balance=zero, refundable=zero)
    if wallet.reserved_minor or await ReservationRepository(db).live_count(wallet_id=wallet.id):
        raise WalletBusy("a session is paid from this wallet: close it when the session ended")
    balance = wallet.available_minor
    if not await wallets.empty(wallet_id=wallet.id, amount_minor=balance, now=now):
        raise WalletBusy("the wallet changed while it was being closed: try again")
    refundable = min(
        balance,
        sum(
            topup.amount_minor - topup.refunded_minor
            for topup in await TopupRepository(db).refundable(wallet_id=wallet.id)
        ),
    )
    if balance:
        payout = Money.from_minor_units(balance - refundable, currency)
        back = Money.from_minor_units(refundable, currency)
        await booking.transfer(
            db=db,
            reference=f"wallet-close:{wallet.id}",
            description=(
                f"closure of wallet {wallet.id}: {back} back to the cards of its top-ups, "
                f"{payout} operator payout"
            ),
            debit=booking.wallet_account(wallet),
            credit=AccountRef.refunds_payable(operator_id=wallet.operator_id, currency=currency),
            amount_minor=balance,
            now=now,
        )
    await wallets.reload(wallet.id)
    return ClosedWallet(
        wallet_id=wallet.id,
        balance=Money.from_minor_units(balance, currency),
        refundable=Money.from_minor_units(refundable, currency),
    )
