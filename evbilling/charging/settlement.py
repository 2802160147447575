"""What a session is settled for, as the payments slice reads it, and the spending limit it
sets: plain values handed across the slice boundary (charging never imports payments).

The total is the session's rounded price including VAT; its portions split it per VAT rate,
from the priced lines of the cost breakdown (each already rounded by the rating engine so the
lines add up to the total exactly): per rate, net = the lines' amounts excluding VAT, VAT =
their amounts including VAT minus that. A component without VAT (OCPI: none applicable) is
rate 0. A min/max price adjustment spanning several rates (its VAT rate is not one rate) is
shared among the rates in proportion to their net amounts, largest remainder first, so the
portions still add up to the total to the minor unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.domain import MAX_END_REASON_LENGTH, SessionStatus
from evbilling.charging.events import limit_text
from evbilling.charging.repository import ChargingRepository
from evbilling.kit import EVBillingError
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.models import ChargingSession
from evbilling.money import InvalidAmount, Money

MAX_PAYMENT_REASON_LENGTH = 200
MAX_LIMIT_STOP_REASON_LENGTH = 200


class SettlementMismatch(EVBillingError):
    """A session's priced lines do not add up to its total (the breakdown is corrupt)."""


@dataclass(frozen=True, slots=True)
class VatPortion:
    rate: Decimal  # percent
    net: Money
    vat: Money


@dataclass(frozen=True, slots=True)
class SessionSettlement:
    session_id: int
    operator_id: int
    location_id: int | None
    station_id: int
    driver_id: int | None
    status: str
    pricing_status: str
    billable: bool
    energy_wh: int
    currency: str | None
    total: Money | None  # incl. VAT, rounded; None until priced
    portions: tuple[VatPortion, ...]  # sum(net + vat) == total exactly
    payment_kind: str | None = None  # how it is paid (set_payment); None: card, as before
    token_id: int | None = None


async def get_settlement(*, db: AsyncSession, session_id: int) -> SessionSettlement:
    """A session's settlement values; raises NotFound for an unknown session."""
    repo = ChargingRepository(db)
    session = await repo.session(session_id)
    if session is None:
        raise NotFound(kind="session", key=session_id)
    station = await repo.station(session.station_id)
    total: Money | None = None
    portions: tuple[VatPortion, ...] = ()
    if session.billable and session.currency is not None and session.cost_incl_vat is not None:
        total = Money.of(session.cost_incl_vat, session.currency).rounded()
        lines = (session.cost_breakdown or {}).get("lines", [])
        portions = vat_portions(lines=lines, currency=session.currency)
        _check_adds_up(portions, total=total, session_id=session.id)
    return SessionSettlement(
        session_id=session.id,
        operator_id=session.operator_id,
        location_id=station.location_id if station is not None else None,
        station_id=session.station_id,
        driver_id=session.driver_id,
        status=session.status,
        pricing_status=session.pricing_status,
        billable=session.billable,
        energy_wh=session.energy_wh or 0,
        currency=session.currency,
        total=total,
        portions=portions,
        payment_kind=session.payment_kind,
        token_id=session.token_id,
    )


def _check_adds_up(portions: Sequence[VatPortion], *, total: Money, session_id: int) -> None:
    summed = sum((p.net.amount + p.vat.amount for p in portions), Decimal(0))
    if summed != total.amount:
        raise SettlementMismatch(
            f"session {session_id}: VAT portions add up to {summed}, the total is {total}"
        )


def vat_portions(*, lines: Sequence[Mapping[str, Any]], currency: str) -> tuple[VatPortion, ...]:
    """The portions per VAT rate of a cost breakdown's lines (see the module docstring),
    highest rate first; rates with nothing to settle are left out."""
    net: dict[Decimal, int] = {}
    gross: dict[Decimal, int] = {}
    mixed_net = mixed_gross = 0
    for line in lines:
        excl = _minor(line["amount_excl_vat"], currency)
        incl = _minor(line["amount_incl_vat"], currency)
        vat = line.get("vat_percent")
        if vat is None and excl != incl:
            mixed_net += excl
            mixed_gross += incl
            continue
        rate = Decimal(0) if vat is None else Decimal(vat)
        net[rate] = net.get(rate, 0) + excl
        gross[rate] = gross.get(rate, 0) + incl
    rates = sorted(net, reverse=True)
    if mixed_net or mixed_gross:
        if not rates:
            raise SettlementMismatch("a price adjustment with mixed VAT but no VAT rate")
        weights = [max(net[rate], 0) for rate in rates]
        for rate, share_net, share_gross in zip(
            rates,
            apportion(total=mixed_net, weights=weights),
            apportion(total=mixed_gross, weights=weights),
            strict=True,
        ):
            net[rate] += share_net
            gross[rate] += share_gross
    return tuple(
        VatPortion(
            rate=rate,
            net=Money.from_minor_units(net[rate], currency),
            vat=Money.from_minor_units(gross[rate] - net[rate], currency),
        )
        for rate in rates
        if net[rate] or gross[rate]
    )


def apportion(*, total: int, weights: Sequence[int]) -> list[int]:
    """`total` minor units shared in proportion to `weights` (equal shares when they are all
    zero): each share rounded down, the units still missing one each to the largest discarded
    remainders (earlier first on a tie). The shares add up to `total` exactly."""
    if not weights:
        raise ValueError("nothing to apportion to")
    if not any(weights):
        weights = [1] * len(weights)
    whole = sum(weights)
    shares = [total * weight // whole for weight in weights]
    remainders = [total * weight % whole for weight in weights]
    missing = total - sum(shares)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:missing]:
        shares[index] += 1
    return shares


def _minor(text: object, currency: str) -> int:
    return Money.of(str(text), currency).minor_units()


async def set_spending_limit(
    *, db: AsyncSession, session_id: int, limit: Money | None, now: datetime
) -> None:
    """The most an active session may cost (incl. VAT, in its currency), or None for no
    limit. When its running cost reaches the limit, charging records `session.limit_reached`
    (once) and the session is stopped remotely."""
    session = await _active(db, session_id=session_id)
    if limit is None:
        session.spending_limit_minor = None
    else:
        if session.currency is not None and limit.currency != session.currency:
            raise InvalidRequest(
                f"the limit is in {limit.currency}, the session in {session.currency}",
                field="limit",
            )
        try:
            minor = limit.minor_units()
        except InvalidAmount as exc:
            raise InvalidRequest(str(exc), field="limit") from exc
        if minor < 0:
            raise InvalidRequest("a spending limit cannot be negative", field="limit")
        session.spending_limit_minor = minor
    session.updated_at = now
    await db.flush()


async def record_limit_stop(
    *, db: AsyncSession, session_id: int, reason: str, now: datetime
) -> None:
    """Why the server stopped a session remotely at its spending limit, kept on it (also as
    its end reason, which the station's StopTransaction does not replace)."""
    session = await ChargingRepository(db).session(session_id)
    if session is None:
        raise NotFound(kind="session", key=session_id)
    session.limit_stop_reason = reason[:MAX_LIMIT_STOP_REASON_LENGTH]
    if session.end_reason is None:
        session.end_reason = reason[:MAX_END_REASON_LENGTH]
    session.updated_at = now
    await db.flush()


async def set_payment(
    *, db: AsyncSession, session_id: int, kind: str, reason: str, now: datetime
) -> None:
    """How a session is paid ("card", "wallet", "postpaid", "free", "fixed_fee") and why, in
    a few words (docs/payment-choice.md)."""
    if kind not in PAYMENT_KINDS:
        raise InvalidRequest(
            f"payment kind must be one of {', '.join(sorted(PAYMENT_KINDS))}", field="kind"
        )
    session = await ChargingRepository(db).session(session_id)
    if session is None:
        raise NotFound(kind="session", key=session_id)
    session.payment_kind = kind
    session.payment_reason = reason[:MAX_PAYMENT_REASON_LENGTH]
    session.updated_at = now
    await db.flush()


PAYMENT_KINDS = frozenset({"card", "wallet", "postpaid", "free", "fixed_fee"})


async def record_card_payment(*, db: AsyncSession, session_id: int, now: datetime) -> bool:
    """A session that got a spending limit from a card hold (payments attached it) is paid
    by card; False, and nothing changed, when it has no limit or a payment kind already."""
    session = await ChargingRepository(db).session(session_id)
    if session is None or session.spending_limit_minor is None or session.payment_kind:
        return False
    reason = "card hold"
    if session.currency is not None:
        limit = Money.from_minor_units(session.spending_limit_minor, session.currency)
        reason = f"card hold; spending limit {limit_text(limit)}"
    await set_payment(db=db, session_id=session_id, kind="card", reason=reason, now=now)
    return True


async def _active(db: AsyncSession, *, session_id: int) -> ChargingSession:
    session = await ChargingRepository(db).session(session_id)
    if session is None:
        raise NotFound(kind="session", key=session_id)
    if session.status != SessionStatus.ACTIVE:
        raise Conflict(f"session {session_id} is {session.status}, not active")
    return session
