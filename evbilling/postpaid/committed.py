"""What an account's credit is committed to right now (docs/postpaid.md, "Several sessions at
once"): the open exposures of starts not yet made, at what they reserved, and every session
charged to it and not yet accrued, at what it has cost so far (its running cost, or its final
cost once stopped). The credit decision and the account's view both count this; the sessions
still charging share what is left (`credit.share_credit`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.costs import running_cost
from evbilling.kit import EVBillingError
from evbilling.models import PostpaidAccount, PostpaidExposure
from evbilling.money import InvalidAmount, Money
from evbilling.postpaid.domain import ExposureStatus
from evbilling.postpaid.repository import ExposureRepository


@dataclass(frozen=True, slots=True)
class Charging:
    """A session of the account still charging."""

    exposure: PostpaidExposure
    spent_minor: int  # what it cost so far
    in_account_currency: bool  # priced in the account's currency: its limit can be set


@dataclass(frozen=True, slots=True)
class Committed:
    reserved_minor: int  # open exposures: starts authorized, not yet made
    spent_minor: int  # sessions not yet accrued: what they cost so far
    charging: tuple[Charging, ...]

    @property
    def total_minor(self) -> int:
        return self.reserved_minor + self.spent_minor


async def _spent(
    db: AsyncSession, *, account: PostpaidAccount, exposure: PostpaidExposure, now: datetime
) -> int:
    """What the exposure's session cost so far, in the account's minor units; its reserved
    amount when that cannot be told (pricing failed, another currency)."""
    assert exposure.session_id is not None
    try:
        cost = await running_cost(
            db=db, operator_id=account.operator_id, session_id=exposure.session_id, now=now
        )
    except EVBillingError:
        return exposure.amount_minor
    if cost is None:
        return 0  # not billable, or no tariff: it costs nothing
    if cost.currency != account.currency:
        return exposure.amount_minor
    try:
        return Money(cost.total_incl_vat, cost.currency).rounded().minor_units()
    except InvalidAmount:
        return exposure.amount_minor


async def committed(
    *, db: AsyncSession, account: PostpaidAccount, now: datetime, excluding: int | None = None
) -> Committed:
    """The account's committed credit (`excluding`: an exposure left out, the one deciding)."""
    reserved = spent = 0
    charging: list[Charging] = []
    live = await ExposureRepository(db).live_of(account_id=account.id)
    for exposure, is_charging, currency in live:
        if exposure.id == excluding:
            continue
        if exposure.status == ExposureStatus.OPEN.value:
            reserved += exposure.amount_minor
            continue
        cost = await _spent(db, account=account, exposure=exposure, now=now)
        spent += cost
        if is_charging:
            charging.append(
                Charging(exposure, cost, in_account_currency=currency in (None, account.currency))
            )
    return Committed(reserved_minor=reserved, spent_minor=spent, charging=tuple(charging))
