"""The ledger entries that move wallet money (each idempotent on its reference) and the
views the services answer with. The wallet row's cached amounts are changed by the caller in
the same transaction (repository.WalletRepository's guarded UPDATEs).

- goodwill:    Dr wallet_funding (operator) / Cr wallet
- card top-up: Dr psp_clearing (provider) / Cr wallet
- debit:       Dr wallet / Cr driver_receivable (the wallet pays what the driver owes)
- reservation: pending Dr wallet / Cr driver_receivable; posted for what the session cost
- closure:     Dr wallet / Cr refunds_payable (operator); Dr refunds_payable / Cr psp_clearing
               once the provider refunded a top-up
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, Line, build_entry
from evbilling.ledger.repository import LedgerRepository
from evbilling.models import LedgerEntry, LedgerLine, Wallet, WalletReservation
from evbilling.money import Money
from evbilling.wallets.domain import (
    Reservation,
    ReservationStatus,
    WalletMovement,
    WalletStatus,
    WalletView,
    movement_kind,
)
from evbilling.wallets.repository import entry_line


def wallet_account(wallet: Wallet) -> AccountRef:
    return AccountRef.wallet(driver_id=wallet.driver_id, currency=wallet.currency)


def view_of(wallet: Wallet) -> WalletView:
    return WalletView(
        wallet_id=wallet.id,
        driver_id=wallet.driver_id,
        currency=wallet.currency,
        available=Money.from_minor_units(wallet.available_minor, wallet.currency),
        reserved=Money.from_minor_units(wallet.reserved_minor, wallet.currency),
        status=WalletStatus(wallet.status),
    )


def reservation_of(row: WalletReservation) -> Reservation:
    return Reservation(
        reservation_id=row.id,
        wallet_id=row.wallet_id,
        driver_id=row.driver_id,
        station_id=row.station_id,
        session_id=row.session_id,
        amount=Money.from_minor_units(row.amount_minor, row.currency),
        margin=Money.from_minor_units(row.margin_minor, row.currency),
        status=ReservationStatus(row.status),
    )


def movement_of(line: LedgerLine, entry: LedgerEntry) -> WalletMovement:
    return WalletMovement(
        id=line.id,
        kind=movement_kind(entry.reference),
        amount=Money.from_minor_units(-line.amount_minor, line.currency),
        reference=entry.reference,
        description=entry.description,
        created_at=entry.created_at,
    )


async def transfer(
    *,
    db: AsyncSession,
    reference: str,
    description: str,
    debit: AccountRef,
    credit: AccountRef,
    amount_minor: int,
    now: datetime,
) -> None:
    draft = build_entry(
        reference=reference,
        description=description[:500],
        lines=[Line(debit, amount_minor), Line(credit, -amount_minor)],
    )
    await ledger.post_entry(db=db, draft=draft, now=now)


async def movement(db: AsyncSession, *, wallet: Wallet, reference: str) -> WalletMovement:
    """The wallet's line of the entry booked under `reference`."""
    account_id = await LedgerRepository(db).account_id(wallet_account(wallet))
    assert account_id is not None, "the entry was booked to the wallet"
    found = await entry_line(db, reference=reference, account_id=account_id)
    assert found is not None, f"{reference} has a line of the wallet"
    return movement_of(*found)
