"""All SQL of the wallet slice. The wallet row's amounts change only through the guarded
UPDATEs below, whose row count decides (`available_minor >= :x`): two concurrent debits can
never both take the last 10, on PostgreSQL (the second waits for the first's row lock and
re-checks the condition) as on SQLite (one writer)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.db.inserts import insert_or_skip
from evbilling.infra.db.repository import KeysetPage, RepositoryBase
from evbilling.models import LedgerEntry, LedgerLine, Wallet, WalletReservation, WalletTopup
from evbilling.wallets.domain import ReservationStatus, TopupStatus, WalletStatus

# Entries that change a wallet's posted balance (a hold's own lines only count as pending).
_POSTED_KINDS = ("transfer", "post_pending", "reversal")


def _count(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


class WalletRepository(RepositoryBase[Wallet]):
    model = Wallet
    kind = "wallet"

    async def for_driver(
        self, *, driver_id: int, currency: str | None = None, lock: bool = False
    ) -> Wallet | None:
        statement = select(Wallet).where(Wallet.driver_id == driver_id)
        if currency is not None:
            statement = statement.where(Wallet.currency == currency)
        statement = statement.order_by(Wallet.id).limit(1).execution_options(populate_existing=True)
        if lock:
            statement = statement.with_for_update()
        row: Wallet | None = (await self.db.execute(statement)).scalar_one_or_none()
        return row

    async def open_empty(
        self, *, operator_id: int, driver_id: int, currency: str, now: datetime
    ) -> Wallet:
        """The driver's wallet in `currency`, inserted empty unless it exists: two first
        openings at once both get the one row (the unique index decides, nothing fails)."""
        dialect = self.db.get_bind().dialect.name
        await self.db.execute(
            insert_or_skip(dialect, Wallet, conflict=("driver_id", "currency")).values(
                operator_id=operator_id,
                driver_id=driver_id,
                currency=currency,
                available_minor=0,
                reserved_minor=0,
                status=WalletStatus.OPEN.value,
                created_at=now,
                updated_at=now,
            )
        )
        wallet = await self.for_driver(driver_id=driver_id, currency=currency)
        assert wallet is not None, "inserted or found"
        return wallet

    async def reload(self, wallet_id: int, *, lock: bool = False) -> Wallet | None:
        statement = (
            select(Wallet).where(Wallet.id == wallet_id).execution_options(populate_existing=True)
        )
        if lock:
            statement = statement.with_for_update()
        row: Wallet | None = (await self.db.execute(statement)).scalar_one_or_none()
        return row

    async def take(
        self, *, wallet_id: int, amount_minor: int, reserve: bool, now: datetime
    ) -> bool:
        """available -= x (and reserved += x when `reserve`), only while available >= x and
        the wallet is open."""
        values: dict[str, object] = {
            "available_minor": Wallet.available_minor - amount_minor,
            "updated_at": now,
        }
        if reserve:
            values["reserved_minor"] = Wallet.reserved_minor + amount_minor
        result = await self.db.execute(
            update(Wallet)
            .where(
                Wallet.id == wallet_id,
                Wallet.status == WalletStatus.OPEN.value,
                Wallet.available_minor >= amount_minor,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return _count(result) == 1

    async def give(
        self, *, wallet_id: int, amount_minor: int, max_balance_minor: int | None, now: datetime
    ) -> bool:
        """available += x, only while the wallet is open and (when a maximum applies)
        available + reserved + x stays at or below it."""
        conditions = [Wallet.id == wallet_id, Wallet.status == WalletStatus.OPEN.value]
        if max_balance_minor is not None:
            conditions.append(
                Wallet.available_minor + Wallet.reserved_minor + amount_minor <= max_balance_minor
            )
        result = await self.db.execute(
            update(Wallet)
            .where(*conditions)
            .values(available_minor=Wallet.available_minor + amount_minor, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return _count(result) == 1

    async def unreserve(
        self, *, wallet_id: int, reserved_minor: int, posted_minor: int, now: datetime
    ) -> bool:
        """A reservation ends: reserved -= its amount, available += what was not posted."""
        result = await self.db.execute(
            update(Wallet)
            .where(Wallet.id == wallet_id, Wallet.reserved_minor >= reserved_minor)
            .values(
                reserved_minor=Wallet.reserved_minor - reserved_minor,
                available_minor=Wallet.available_minor + (reserved_minor - posted_minor),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return _count(result) == 1

    async def empty(self, *, wallet_id: int, amount_minor: int, now: datetime) -> bool:
        """Closure: available from exactly `amount_minor` to 0, no reservation left."""
        result = await self.db.execute(
            update(Wallet)
            .where(
                Wallet.id == wallet_id,
                Wallet.status == WalletStatus.OPEN.value,
                Wallet.available_minor == amount_minor,
                Wallet.reserved_minor == 0,
            )
            .values(
                available_minor=0,
                status=WalletStatus.CLOSED.value,
                closed_at=now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return _count(result) == 1

    async def movements(
        self, *, account_id: int, limit: int, after: int | None
    ) -> KeysetPage[tuple[LedgerLine, LedgerEntry]]:
        """The posted lines of a wallet's ledger account, newest first."""
        statement = (
            select(LedgerLine, LedgerEntry)
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(LedgerLine.account_id == account_id, LedgerEntry.kind.in_(_POSTED_KINDS))
        )
        if after is not None:
            statement = statement.where(LedgerLine.id < after)
        result = await self.db.execute(statement.order_by(LedgerLine.id.desc()).limit(limit + 1))
        rows = [(row[0], row[1]) for row in result.all()]
        more = len(rows) > limit
        rows = rows[:limit]
        next_after = rows[-1][0].id if more and rows else None
        return KeysetPage(rows=rows, limit=limit, next_after=next_after)


class ReservationRepository(RepositoryBase[WalletReservation]):
    model = WalletReservation
    kind = "wallet reservation"

    async def live_unattached(
        self, *, driver_id: int, station_id: int, lock: bool = False
    ) -> WalletReservation | None:
        statement = select(WalletReservation).where(
            WalletReservation.driver_id == driver_id,
            WalletReservation.station_id == station_id,
            WalletReservation.status == ReservationStatus.LIVE.value,
            WalletReservation.session_id.is_(None),
        )
        if lock:
            statement = statement.with_for_update()
        row: WalletReservation | None = (await self.db.execute(statement)).scalar_one_or_none()
        return row

    async def for_session(self, *, session_id: int, lock: bool = False) -> WalletReservation | None:
        statement = select(WalletReservation).where(WalletReservation.session_id == session_id)
        if lock:
            statement = statement.with_for_update()
        row: WalletReservation | None = (await self.db.execute(statement)).scalar_one_or_none()
        return row

    async def live_count(self, *, wallet_id: int) -> int:
        rows = await self.db.execute(
            select(WalletReservation.id).where(
                WalletReservation.wallet_id == wallet_id,
                WalletReservation.status == ReservationStatus.LIVE.value,
            )
        )
        return len(rows.all())

    async def live_total(self, *, wallet_id: int) -> int:
        rows = await self.db.execute(
            select(WalletReservation.amount_minor).where(
                WalletReservation.wallet_id == wallet_id,
                WalletReservation.status == ReservationStatus.LIVE.value,
            )
        )
        return sum(int(amount) for amount in rows.scalars())

    async def unattached_before(self, *, older_than: datetime) -> Sequence[int]:
        rows = await self.db.execute(
            select(WalletReservation.id)
            .where(
                WalletReservation.status == ReservationStatus.LIVE.value,
                WalletReservation.session_id.is_(None),
                WalletReservation.created_at < older_than,
            )
            .order_by(WalletReservation.id)
        )
        return list(rows.scalars())


IN_FLIGHT_TOPUPS = (
    TopupStatus.PLANNED.value,
    TopupStatus.AUTHORIZED.value,
    TopupStatus.UNKNOWN.value,
)


class TopupRepository(RepositoryBase[WalletTopup]):
    model = WalletTopup
    kind = "wallet top-up"

    async def unknown_before(self, *, provider: str, before: datetime) -> Sequence[int]:
        """Top-ups of `provider` whose answer was lost, last touched before `before`."""
        rows = await self.db.execute(
            select(WalletTopup.id)
            .where(
                WalletTopup.provider == provider,
                WalletTopup.status == TopupStatus.UNKNOWN.value,
                WalletTopup.updated_at < before,
            )
            .order_by(WalletTopup.id)
        )
        return list(rows.scalars())

    async def in_flight_minor(self, *, wallet_id: int) -> int:
        """What the wallet's top-ups not yet settled (planned, authorized, answer lost) may
        still add to its balance."""
        total = await self.db.scalar(
            select(func.coalesce(func.sum(WalletTopup.amount_minor), 0)).where(
                WalletTopup.wallet_id == wallet_id,
                WalletTopup.status.in_(IN_FLIGHT_TOPUPS),
            )
        )
        return int(total or 0)

    async def refundable(self, *, wallet_id: int) -> Sequence[WalletTopup]:
        """Captured top-ups with something left to refund, newest first."""
        rows = await self.db.execute(
            select(WalletTopup)
            .where(
                WalletTopup.wallet_id == wallet_id,
                WalletTopup.status == TopupStatus.CAPTURED.value,
                WalletTopup.refunded_minor < WalletTopup.amount_minor,
            )
            .order_by(WalletTopup.id.desc())
        )
        return list(rows.scalars())


async def entry_booked(db: AsyncSession, *, reference: str) -> bool:
    """Whether the ledger holds an entry under `reference` (a wallet move asked again)."""
    found = await db.scalar(select(LedgerEntry.id).where(LedgerEntry.reference == reference))
    return found is not None


async def entry_line(
    db: AsyncSession, *, reference: str, account_id: int
) -> tuple[LedgerLine, LedgerEntry] | None:
    """The line of `account_id` in the entry booked under `reference`."""
    row = (
        await db.execute(
            select(LedgerLine, LedgerEntry)
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(LedgerEntry.reference == reference, LedgerLine.account_id == account_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])
