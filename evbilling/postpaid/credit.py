"""The credit limit at authorization (docs/postpaid.md):

    decision = await check_credit(db=..., account_id=..., wanted=..., now=...)
    exposure_id = await open_exposure(db=..., account_id=..., driver_id=..., station_id=...,
                                      amount=..., now=...)     # None: refused
    ...
    await attach_exposure(db=..., account_id=..., station_id=..., session_id=..., now=...)

`open_exposure` locks the account's row (SELECT ... FOR UPDATE on PostgreSQL; SQLite has one
writer at a time) before it checks and records, so two sessions starting at once are decided
one after the other: the second sees the first's exposure. The credit counts what is owed and
what is committed (`committed.py`): open exposures at what they reserved, sessions at what
they cost so far, until accrued (accrual.accrue_session) or released.

Several sessions at once share the credit left: whenever a session starts (attach) or one is
accrued, every session still charging gets the spending limit "what it has cost so far + an
equal part of the credit left" (`share_credit`), so together they can never pass the limit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.settlement import set_payment, set_spending_limit
from evbilling.models import PostpaidAccount, PostpaidExposure
from evbilling.money import InvalidAmount, Money
from evbilling.postpaid.committed import committed
from evbilling.postpaid.domain import (
    AccountNotFound,
    CreditDecision,
    ExposureStatus,
    decide_credit,
)
from evbilling.postpaid.repository import AccountRepository, ExposureRepository
from evbilling.postpaid.service import outstanding_minor


def _wanted_minor(wanted: Money, *, account: PostpaidAccount) -> int:
    if wanted.currency != account.currency:
        return -1
    try:
        return wanted.rounded().minor_units()
    except InvalidAmount:
        return -1


async def _decide(
    db: AsyncSession,
    *,
    account: PostpaidAccount,
    wanted: Money,
    now: datetime,
    excluding: int | None = None,
) -> CreditDecision:
    minor = _wanted_minor(wanted, account=account)
    outstanding = await outstanding_minor(db=db, account=account)
    taken = await committed(db=db, account=account, now=now, excluding=excluding)
    decision = decide_credit(
        status=account.status,
        limit_minor=account.credit_limit_minor,
        outstanding_minor=outstanding,
        exposure_minor=taken.total_minor,
        wanted_minor=max(minor, 0),
        currency=account.currency,
    )
    if minor < 0:
        return CreditDecision(
            False, f"the account is in {account.currency}", decision.available_minor,
            account.currency,
        )  # fmt: skip
    return decision


async def check_credit(
    *, db: AsyncSession, account_id: int, wanted: Money, now: datetime
) -> CreditDecision:
    """Whether `wanted` fits: outstanding receivable + open exposure + wanted <= limit (and
    the account is active). Reads only; `open_exposure` decides under the account's lock."""
    account = await AccountRepository(db).get(id=account_id)
    if account is None:
        raise AccountNotFound(account_id)
    return await _decide(db, account=account, wanted=wanted, now=now)


async def open_exposure(
    *,
    db: AsyncSession,
    account_id: int,
    driver_id: int | None,
    station_id: int,
    amount: Money,
    now: datetime,
) -> int | None:
    """The credit check under the account's lock and, when it passes, an open exposure of
    `amount` (its id); None when refused. A live unattached exposure of the same account at
    the same station is reused (a retried start), like card holds."""
    account = await AccountRepository(db).get_for_update(id=account_id)
    if account is None:
        raise AccountNotFound(account_id)
    exposures = ExposureRepository(db)
    reused = await exposures.open_at(account_id=account_id, station_id=station_id)
    if reused is not None and reused.driver_id == driver_id:
        return reused.id
    decision = await _decide(db, account=account, wanted=amount, now=now)
    if not decision.accepted:
        return None
    row = exposures.add(
        PostpaidExposure(
            account_id=account_id,
            driver_id=driver_id,
            station_id=station_id,
            currency=account.currency,
            amount_minor=amount.rounded().minor_units(),
            status=ExposureStatus.OPEN.value,
            created_at=now,
            updated_at=now,
        )
    )
    await exposures.flush()
    return row.id


async def attach_exposure(
    *, db: AsyncSession, account_id: int, station_id: int, session_id: int, now: datetime
) -> bool:
    """At StartTransaction: the account's open exposure at the station becomes the session's;
    the session is paid "postpaid", and the credit left is shared again among the account's
    sessions still charging, this one included (`share_credit`). False, nothing changed, when
    there is no open exposure (or the session has one already)."""
    exposures = ExposureRepository(db)
    if await exposures.for_session(session_id=session_id) is not None:
        return False
    account = await AccountRepository(db).get_for_update(id=account_id)
    if account is None:
        raise AccountNotFound(account_id)
    exposure = await exposures.open_at(account_id=account_id, station_id=station_id)
    if exposure is None:
        return False
    exposure.session_id = session_id
    exposure.status = ExposureStatus.ATTACHED.value
    exposure.updated_at = now
    await exposures.flush()
    limits = await _share(db, account=account, now=now)
    left = limits.get(session_id, Money.zero(account.currency))
    await set_payment(
        db=db,
        session_id=session_id,
        kind="postpaid",
        reason=f"postpaid account {account.id}; credit left {left}",
        now=now,
    )
    return True


async def share_credit(*, db: AsyncSession, account_id: int, now: datetime) -> None:
    """Share the account's credit left again among its sessions still charging (after one
    was accrued: its part is free again). Under the account's lock."""
    account = await AccountRepository(db).get_for_update(id=account_id)
    if account is None:
        raise AccountNotFound(account_id)
    await _share(db, account=account, now=now)


async def _share(db: AsyncSession, *, account: PostpaidAccount, now: datetime) -> dict[int, Money]:
    """Every session still charging: spending limit = what it cost so far + an equal part
    (rounded down to the minor unit) of the credit left; the limits by session id."""
    outstanding = await outstanding_minor(db=db, account=account)
    taken = await committed(db=db, account=account, now=now)
    free = max(account.credit_limit_minor - outstanding - taken.total_minor, 0)
    limits: dict[int, Money] = {}
    if not taken.charging:
        return limits
    part = free // len(taken.charging)
    for running in taken.charging:
        session_id = running.exposure.session_id
        assert session_id is not None
        limit = Money.from_minor_units(running.spent_minor + part, account.currency)
        if running.in_account_currency:
            await set_spending_limit(db=db, session_id=session_id, limit=limit, now=now)
        limits[session_id] = limit
    return limits


async def release_exposure(*, db: AsyncSession, exposure_id: int, now: datetime) -> bool:
    """An exposure no session will use (a start refused or never made) stops counting."""
    row = await ExposureRepository(db).get_for_update(id=exposure_id)
    if row is None or row.status != ExposureStatus.OPEN.value:
        return False
    row.status = ExposureStatus.RELEASED.value
    row.updated_at = now
    await db.flush()
    return True


async def release_unused(
    *, db: AsyncSession, account_id: int, driver_id: int | None, station_id: int, now: datetime
) -> bool:
    """A start at the station was refused: the driver's open exposure there stops counting
    at once, not when the sweep finds it. False when there is none."""
    row = await ExposureRepository(db).open_at(account_id=account_id, station_id=station_id)
    if row is None or row.driver_id != driver_id:
        return False
    return await release_exposure(db=db, exposure_id=row.id, now=now)


async def release_unattached(*, db: AsyncSession, older_than: datetime, now: datetime) -> int:
    """Open exposures created before `older_than` that no session took: released."""
    released = 0
    for row in await ExposureRepository(db).open_before(before=older_than):
        released += await release_exposure(db=db, exposure_id=row.id, now=now)
    return released
