"""The rules of card payments around a session, pure (no I/O, no clock, no framework).

- How large a hold is (`size_hold`), what safety margin the session's spending limit keeps
  below the amount actually authorized (`safety_margin`, `spending_limit`);
- what is captured at the end (`capture_plan`: min(cost, capturable), the shortfall a
  receivable, a capture below the provider's minimum released instead);
- the order of a payment's states, which never moves backwards (`PaymentStatus.can_move`);
- how a refund is shared out over revenue and VAT (`refund_split`).

The formulas and their defaults are in docs/payments.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from evbilling.kit import EVBillingError, InvalidRequest
from evbilling.money import Money, currency_exponent
from evbilling.payments.errors import NotRefundable, RefundTooLarge
from evbilling.tariffs.domain import Tariff, TariffDimensionType

_HOUR = Decimal(3600)


class PaymentStatus(StrEnum):
    """A hold's life. `planned`: stored with its idempotency key, the provider not yet
    answered; `authorized`: held at the provider; then one of the final states. `captured`
    moves on to `refunded` only when everything captured went back."""

    PLANNED = "planned"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    RELEASED = "released"  # voided (nothing captured) or expired unused at the provider
    FAILED = "failed"  # declined: nothing was ever held
    REFUNDED = "refunded"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def live(self) -> bool:
        """Still holding (or about to hold) money on the driver's card."""
        return self in (PaymentStatus.PLANNED, PaymentStatus.AUTHORIZED)

    def can_move(self, to: PaymentStatus) -> bool:
        """Whether `to` is a step forward from here (staying put is not a move)."""
        return to in _NEXT[self]


_RANK = {
    PaymentStatus.PLANNED: 0,
    PaymentStatus.AUTHORIZED: 1,
    PaymentStatus.CAPTURED: 2,
    PaymentStatus.RELEASED: 2,
    PaymentStatus.FAILED: 2,
    PaymentStatus.REFUNDED: 3,
}
_NEXT: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PLANNED: frozenset(
        {PaymentStatus.AUTHORIZED, PaymentStatus.FAILED, PaymentStatus.RELEASED}
    ),
    # A capture straight from planned: the provider answered the hold only after capture.
    PaymentStatus.AUTHORIZED: frozenset({PaymentStatus.CAPTURED, PaymentStatus.RELEASED}),
    PaymentStatus.CAPTURED: frozenset({PaymentStatus.REFUNDED}),
    PaymentStatus.RELEASED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.REFUNDED: frozenset(),
}


class CallState(StrEnum):
    """A provider call, stored (with its idempotency key) before it is made."""

    PENDING = "pending"  # stored; made or about to be made; no answer recorded
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the provider refused: nothing happened
    UNKNOWN = "unknown"  # time-out or lost answer: settled by retrieving the object

    @property
    def open(self) -> bool:
        return self in (CallState.PENDING, CallState.UNKNOWN)


class ChargeStatus(StrEnum):
    """What became of a settled session's amount."""

    CAPTURING = "capturing"  # the sale is booked; capture (or release) in progress
    SETTLED = "settled"  # captured and/or left as a receivable; nothing in flight


class RefundState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# -- sizing a hold ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitPrices:
    """The highest price of each dimension a tariff can charge, VAT included (a hold must
    cover the dearest period). Per kWh, per hour charging, per hour parking, per session."""

    currency: str
    energy_per_kwh: Decimal = Decimal(0)
    time_per_hour: Decimal = Decimal(0)
    parking_per_hour: Decimal = Decimal(0)
    flat: Decimal = Decimal(0)
    max_price: Decimal | None = None  # the tariff's own ceiling (incl. VAT), when it has one


def unit_prices(tariff: Tariff) -> UnitPrices:
    highest: dict[TariffDimensionType, Decimal] = {}
    for element in tariff.elements:
        for component in element.price_components:
            gross = component.price * (1 + (component.vat or Decimal(0)) / 100)
            highest[component.type] = max(highest.get(component.type, Decimal(0)), gross)
    ceiling = None
    if tariff.max_price is not None:
        ceiling = tariff.max_price.incl_vat or tariff.max_price.excl_vat
    return UnitPrices(
        currency=tariff.currency,
        energy_per_kwh=highest.get(TariffDimensionType.ENERGY, Decimal(0)),
        time_per_hour=highest.get(TariffDimensionType.TIME, Decimal(0)),
        parking_per_hour=highest.get(TariffDimensionType.PARKING_TIME, Decimal(0)),
        flat=highest.get(TariffDimensionType.FLAT, Decimal(0)),
        max_price=ceiling,
    )


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    """How holds and spending limits are sized (settings; docs/payments.md).

    caps: the largest hold per currency (EVBILLING_HOLD_CAP, default EUR 50); a currency
    without a cap is held at the estimate. hold_window: the charging time a hold is sized for
    at the EVSE's full power. meter_interval + stop_latency: how far the cost can run on
    after the last reading before a remote stop takes effect. idle_cap: the longest idle
    (parking) time billed after charging ends."""

    caps: dict[str, Decimal] = field(default_factory=lambda: {"EUR": Decimal(50)})
    hold_window: timedelta = timedelta(hours=1)
    meter_interval: timedelta = timedelta(seconds=60)
    stop_latency: timedelta = timedelta(seconds=30)
    idle_cap: timedelta = timedelta(hours=1)
    # A capture is due this long before the provider's capture deadline at the latest.
    capture_margin: timedelta = timedelta(hours=2)
    # An authorized hold no session started on is released after this long.
    unused_hold_after: timedelta = timedelta(minutes=10)


def parse_caps(text: str) -> dict[str, Decimal]:
    """`"EUR:50,CHF:60"` -> {"EUR": 50, "CHF": 60}; every amount positive."""
    caps: dict[str, Decimal] = {}
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        code, sep, amount = part.partition(":")
        try:
            value = Decimal(amount.strip()) if sep else Decimal(-1)
            Money.of(value, code.strip())
        except (EVBillingError, ArithmeticError) as exc:
            raise InvalidRequest(f"not a currency cap: {part!r}", field="hold_cap") from exc
        if not value.is_finite() or value <= 0:
            raise InvalidRequest(f"a cap must be a positive amount: {part!r}", field="hold_cap")
        caps[code.strip()] = value
    return caps


def _hours(duration: timedelta) -> Decimal:
    return Decimal(int(duration.total_seconds() * 1_000_000)) / 1_000_000 / _HOUR


def _up(amount: Decimal, currency: str) -> Money:
    quantum = Decimal(1).scaleb(-currency_exponent(currency))
    return Money(amount=amount.quantize(quantum, rounding=ROUND_CEILING), currency=currency)


def idle_fee_cap(*, prices: UnitPrices, policy: HoldPolicy) -> Decimal:
    return prices.parking_per_hour * _hours(policy.idle_cap)


def size_hold(*, prices: UnitPrices, power_w: int, policy: HoldPolicy) -> Money:
    """flat + energy price x EVSE kW x hold window + time price x hold window + idle-fee
    cap, at most the tariff's max_price and the currency's cap; rounded up to the minor
    unit, at least one minor unit."""
    kw = Decimal(max(power_w, 0)) / 1000
    window = _hours(policy.hold_window)
    estimate = (
        prices.flat
        + prices.energy_per_kwh * kw * window
        + prices.time_per_hour * window
        + idle_fee_cap(prices=prices, policy=policy)
    )
    if prices.max_price is not None:
        estimate = min(estimate, prices.max_price)
    cap = policy.caps.get(prices.currency)
    if cap is not None:
        estimate = min(estimate, cap)
    smallest = Decimal(1).scaleb(-currency_exponent(prices.currency))
    return _up(max(estimate, smallest), prices.currency)


def safety_margin(*, prices: UnitPrices, power_w: int, policy: HoldPolicy) -> Money:
    """(energy price x EVSE kW + time price) x (meter interval + stop latency) + idle-fee
    cap: what a session can still cost after its running cost reached the limit."""
    kw = Decimal(max(power_w, 0)) / 1000
    run_on = _hours(policy.meter_interval + policy.stop_latency)
    margin = (prices.energy_per_kwh * kw + prices.time_per_hour) * run_on + idle_fee_cap(
        prices=prices, policy=policy
    )
    return _up(margin, prices.currency)


def spending_limit(*, authorized: Money, margin: Money) -> Money | None:
    """authorized - margin; None when nothing would be left (the hold is too small)."""
    left = authorized - margin
    return left if left.amount > 0 else None


# -- capture ------------------------------------------------------------------------------


class ShortfallReason(StrEnum):
    NONE = "none"
    ABOVE_HOLD = "above_hold"  # the cost passed what was capturable
    BELOW_MINIMUM = "below_minimum"  # too small for the provider: released, left owed
    NO_HOLD = "no_hold"  # nothing was held (no saved card, hold failed or expired)


@dataclass(frozen=True, slots=True)
class CapturePlan:
    """What to do with a hold at the end of a session."""

    capture: Money  # zero: release the hold instead
    receivable: Money  # left owed by the driver
    reason: ShortfallReason


def capture_plan(*, cost: Money, capturable: Money, minimum: Money) -> CapturePlan:
    """Capture min(cost, capturable); the rest stays a receivable. A capture below the
    provider's minimum charge is not made: the hold is released and the whole cost stays
    owed (policy in docs/payments.md). A zero cost releases the hold."""
    if cost.amount < 0:
        raise InvalidRequest("a session's cost cannot be negative", field="cost")
    zero = Money.zero(cost.currency)
    if cost.is_zero():
        return CapturePlan(capture=zero, receivable=zero, reason=ShortfallReason.NONE)
    if capturable.amount <= 0:
        return CapturePlan(capture=zero, receivable=cost, reason=ShortfallReason.NO_HOLD)
    amount = cost if cost.amount <= capturable.amount else capturable
    if amount.amount < minimum.amount:
        return CapturePlan(capture=zero, receivable=cost, reason=ShortfallReason.BELOW_MINIMUM)
    rest = cost - amount
    reason = ShortfallReason.ABOVE_HOLD if rest.amount > 0 else ShortfallReason.NONE
    return CapturePlan(capture=amount, receivable=rest, reason=reason)


# -- refunds ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Portion:
    """One VAT rate's share of a sale, in minor units."""

    rate: Decimal
    net_minor: int
    vat_minor: int


def check_refund(*, amount_minor: int, captured_minor: int, refunded_minor: int) -> None:
    if captured_minor <= 0:
        raise NotRefundable("the payment captured nothing")
    if amount_minor <= 0:
        raise InvalidRequest("a refund must be a positive amount", field="amount")
    left = captured_minor - refunded_minor
    if amount_minor > left:
        raise RefundTooLarge(f"at most {left} minor units are left to refund")


def refund_split(*, amount_minor: int, portions: Sequence[Portion]) -> list[Portion]:
    """The refund's share of each portion's net and VAT, proportional to the sale (rounded
    down; the remainder goes to the largest portion's net), summing to `amount_minor`."""
    total = sum(p.net_minor + p.vat_minor for p in portions)
    if total <= 0:
        raise NotRefundable("the sale has no amount to refund")
    if not 0 < amount_minor <= total:
        raise RefundTooLarge(f"a refund of this sale is at most {total} minor units")
    shares: list[list[int]] = []
    for portion in portions:
        net = _floor_share(portion.net_minor, amount_minor, total)
        vat = _floor_share(portion.vat_minor, amount_minor, total)
        shares.append([net, vat])
    remainder = amount_minor - sum(net + vat for net, vat in shares)
    largest = max(range(len(portions)), key=lambda i: portions[i].net_minor + portions[i].vat_minor)
    shares[largest][0] += remainder
    return [
        Portion(rate=portion.rate, net_minor=net, vat_minor=vat)
        for portion, (net, vat) in zip(portions, shares, strict=True)
    ]


def _floor_share(part: int, amount: int, total: int) -> int:
    return int((Decimal(part) * amount / total).to_integral_value(rounding=ROUND_FLOOR))


def hold_reference(hold_id: int) -> str:
    return f"hold:{hold_id}"


def refund_reference(refund_id: int) -> str:
    return f"refund:{refund_id}"
