"""Reservations around sessions paid from a wallet (re-exported by `wallets.service`):

    reservation = await reserve_for_session(db=..., ...)          # at Authorize
    await attach_reservation(db=..., session_id=..., ...)         # at StartTransaction
    posted = await settle_reservation(db=..., total=..., ...)     # at session.completed
    await release_reservation(db=..., reservation_id=..., ...)    # a start that never came

A reservation is a pending ledger transfer Dr wallet / Cr driver_receivable, and moves the
amount from the wallet's available to its reserved cache in the same transaction (guarded).
Settling posts min(total, reserved) and releases the rest; a total above the reservation stays
a driver receivable (the wallet never goes below zero).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.settlement import set_payment, set_spending_limit
from evbilling.drivers.repository import DriverRepository
from evbilling.kit import NotFound
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.models import WalletReservation
from evbilling.money import Money
from evbilling.wallets import booking
from evbilling.wallets.domain import (
    Reservation,
    ReservationStatus,
    WalletStatus,
    limit_reason,
    reservation_amount,
    settled_minor,
)
from evbilling.wallets.repository import ReservationRepository, WalletRepository

# A reservation raced by another writer of the wallet is tried again with what is left.
_ATTEMPTS = 3


async def reserve_for_session(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int,
    station_id: int,
    wanted: Money,
    margin: Money,
    now: datetime,
) -> Reservation | None:
    """Reserve min(wanted, available) for a session of the driver at the station; None when
    the driver has no open wallet in that currency or what it could reserve does not exceed
    `margin`. A live unattached reservation of the driver at the station is reused."""
    await DriverRepository(db).get_owned(id=driver_id, owner_id=operator_id)
    reservations = ReservationRepository(db)
    live = await reservations.live_unattached(driver_id=driver_id, station_id=station_id, lock=True)
    if live is not None:
        return booking.reservation_of(live)
    wallets = WalletRepository(db)
    wallet = await wallets.for_driver(driver_id=driver_id, currency=wanted.currency)
    if wallet is None or wallet.status != WalletStatus.OPEN.value:
        return None
    wanted_minor = wanted.minor_units()
    margin_minor = margin.minor_units()
    amount: int | None = None
    for _ in range(_ATTEMPTS):
        current = await wallets.reload(wallet.id)
        assert current is not None
        amount = reservation_amount(
            wanted_minor=wanted_minor,
            available_minor=current.available_minor,
            margin_minor=margin_minor,
        )
        if amount is None:
            return None
        if await wallets.take(wallet_id=wallet.id, amount_minor=amount, reserve=True, now=now):
            break
    else:
        return None
    assert amount is not None
    row = reservations.add(
        WalletReservation(
            operator_id=operator_id,
            wallet_id=wallet.id,
            driver_id=driver_id,
            station_id=station_id,
            currency=wallet.currency,
            amount_minor=amount,
            margin_minor=margin_minor,
            posted_minor=0,
            status=ReservationStatus.LIVE.value,
            created_at=now,
            updated_at=now,
        )
    )
    await reservations.flush()
    pending = await ledger.open_pending(
        db=db,
        reference=f"wallet-reservation:{row.id}",
        debit=booking.wallet_account(wallet),
        credit=AccountRef.driver_receivable(driver_id=driver_id, currency=wallet.currency),
        amount_minor=amount,
        now=now,
    )
    row.ledger_pending_id = pending.id
    await reservations.flush()
    return booking.reservation_of(row)


async def attach_reservation(
    *, db: AsyncSession, driver_id: int, station_id: int, session_id: int, now: datetime
) -> bool:
    """At StartTransaction: the driver's live reservation at the station becomes the
    session's; its spending limit is reserved - margin and it is paid by "wallet". False, and
    nothing changed, without a reservation (True again for a replayed start)."""
    reservations = ReservationRepository(db)
    if await reservations.for_session(session_id=session_id) is not None:
        return True
    row = await reservations.live_unattached(driver_id=driver_id, station_id=station_id, lock=True)
    if row is None:
        return False
    row.session_id = session_id
    row.updated_at = now
    await reservations.flush()
    limit = Money.from_minor_units(row.amount_minor - row.margin_minor, row.currency)
    await set_spending_limit(db=db, session_id=session_id, limit=limit, now=now)
    await set_payment(
        db=db, session_id=session_id, kind="wallet", reason=limit_reason(limit), now=now
    )
    return True


async def _end(
    db: AsyncSession, *, row: WalletReservation, posted_minor: int, now: datetime
) -> None:
    assert row.ledger_pending_id is not None, "a reservation is booked when it is made"
    if posted_minor > 0:
        await ledger.post_pending(
            db=db,
            pending_id=row.ledger_pending_id,
            amount_minor=posted_minor,
            reference=f"wallet-settle:{row.id}",
            now=now,
        )
        row.status = ReservationStatus.SETTLED.value
    else:
        await ledger.void_pending(
            db=db,
            pending_id=row.ledger_pending_id,
            reference=f"wallet-release:{row.id}",
            now=now,
        )
        row.status = ReservationStatus.RELEASED.value
    row.posted_minor = posted_minor
    row.updated_at = now
    moved = await WalletRepository(db).unreserve(
        wallet_id=row.wallet_id,
        reserved_minor=row.amount_minor,
        posted_minor=posted_minor,
        now=now,
    )
    assert moved, "a live reservation is counted in the wallet's reserved amount"
    await db.flush()


async def settle_reservation(
    *, db: AsyncSession, session_id: int, total: Money | None, now: datetime
) -> Money:
    """At the session's end (after its sale was booked, Dr driver_receivable): post
    min(total, reserved) from the wallet, release the rest; returns what was posted. A
    session without a reservation posts nothing; settling again returns the first result."""
    row = await ReservationRepository(db).for_session(session_id=session_id, lock=True)
    if row is None:
        return Money.zero(total.currency) if total is not None else Money.zero("EUR")
    if row.status != ReservationStatus.LIVE.value:
        return Money.from_minor_units(row.posted_minor, row.currency)
    total_minor = None
    if total is not None:
        if total.currency != row.currency:
            total_minor = None  # a session priced in another currency is not paid from here
        else:
            total_minor = total.rounded().minor_units()
    posted = settled_minor(total_minor=total_minor, reserved_minor=row.amount_minor)
    await _end(db, row=row, posted_minor=posted, now=now)
    return Money.from_minor_units(posted, row.currency)


async def release_reservation(*, db: AsyncSession, reservation_id: int, now: datetime) -> None:
    """Give a reservation back in full (a start that failed or never came); quiet when it
    ended already."""
    row = await ReservationRepository(db).get_for_update(id=reservation_id)
    if row is None:
        raise NotFound(kind="wallet reservation", key=reservation_id)
    if row.status != ReservationStatus.LIVE.value:
        return
    await _end(db, row=row, posted_minor=0, now=now)


async def release_unused(
    *, db: AsyncSession, driver_id: int, station_id: int, now: datetime
) -> bool:
    """A start at the station was refused: the driver's live reservation there that no
    session took is given back at once, not left to the sweep. False when there is none."""
    row = await ReservationRepository(db).live_unattached(
        driver_id=driver_id, station_id=station_id, lock=True
    )
    if row is None:
        return False
    await _end(db, row=row, posted_minor=0, now=now)
    return True


async def sweep_unattached(*, db: AsyncSession, older_than: datetime, now: datetime) -> int:
    """Release the reservations no session took since before `older_than`; how many."""
    released = 0
    for reservation_id in await ReservationRepository(db).unattached_before(older_than=older_than):
        row = await ReservationRepository(db).get_for_update(id=reservation_id)
        if row is None or row.status != ReservationStatus.LIVE.value or row.session_id is not None:
            continue
        await _end(db, row=row, posted_minor=0, now=now)
        released += 1
    return released
