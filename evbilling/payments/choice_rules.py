"""How a session is paid, decided at Authorize from plain facts (pure; docs/payment-choice.md).

1. A token that may not charge (unknown, blocked, expired) is refused whatever else is true.
2. A token linked to a driver: the driver's preference (card, wallet, postpaid). Without one,
   the driver's postpaid account when linked, else the wallet when it holds a balance, else
   the card (the saved card's hold; without a saved card the session is owed by the driver,
   as before payment methods were chosen). A preference for a method the driver does not have
   (no wallet, no postpaid account) is refused with that reason rather than silently paid
   another way.
3. A token of a postpaid account (a fleet card without a driver): that account.
4. A token linked to nobody: the operator's policy, refuse, free or a fixed fee.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from evbilling.drivers.domain import PaymentPreference
from evbilling.money import Money

__all__ = [
    "PaymentRoute",
    "Preference",
    "RouteDecision",
    "RouteFacts",
    "TokenState",
    "UnlinkedPolicy",
    "decide_route",
    "fee_split",
]


class PaymentRoute(StrEnum):
    CARD = "card"
    WALLET = "wallet"
    POSTPAID = "postpaid"
    FREE = "free"
    FIXED_FEE = "fixed_fee"
    REFUSED = "refused"


# A driver's chosen method (drivers.payment_preference).
Preference = PaymentPreference


class UnlinkedPolicy(StrEnum):
    """What an operator lets a token linked to nobody do (operators.unlinked_token_policy)."""

    REFUSE = "refuse"
    FREE = "free"
    FIXED_FEE = "fixed_fee"


class TokenState(StrEnum):
    USABLE = "usable"
    UNKNOWN = "unknown"
    BLOCKED = "blocked"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class RouteFacts:
    token_state: TokenState
    driver_id: int | None = None
    preference: Preference | None = None
    # The postpaid account of the driver, or (no driver) of the token.
    account_id: int | None = None
    # The driver's wallet balance (available); None: no open wallet.
    wallet_available: Money | None = None
    has_saved_card: bool = False
    policy: UnlinkedPolicy = UnlinkedPolicy.FREE
    fee: Money | None = None


@dataclass(frozen=True, slots=True)
class RouteDecision:
    route: PaymentRoute
    reason: str
    account_id: int | None = None


def decide_route(facts: RouteFacts) -> RouteDecision:
    """The route and its reason, in a few words (kept on the session)."""
    if facts.token_state is not TokenState.USABLE:
        return RouteDecision(PaymentRoute.REFUSED, f"token {facts.token_state.value}")
    if facts.driver_id is not None:
        return _for_driver(facts)
    if facts.account_id is not None:
        return RouteDecision(
            PaymentRoute.POSTPAID, "fleet token of postpaid account", facts.account_id
        )
    return _unlinked(facts)


def _for_driver(facts: RouteFacts) -> RouteDecision:
    preference = facts.preference
    if preference is Preference.POSTPAID:
        if facts.account_id is None:
            return RouteDecision(PaymentRoute.REFUSED, "prefers postpaid; no postpaid account")
        return RouteDecision(PaymentRoute.POSTPAID, "driver prefers postpaid", facts.account_id)
    if preference is Preference.WALLET:
        if facts.wallet_available is None:
            return RouteDecision(PaymentRoute.REFUSED, "prefers the wallet; no wallet")
        return RouteDecision(PaymentRoute.WALLET, "driver prefers the wallet")
    if preference is Preference.CARD:
        return RouteDecision(PaymentRoute.CARD, _card_reason("driver prefers the card", facts))
    if facts.account_id is not None:
        return RouteDecision(
            PaymentRoute.POSTPAID, "no preference; postpaid account linked", facts.account_id
        )
    if facts.wallet_available is not None and facts.wallet_available.amount > 0:
        return RouteDecision(PaymentRoute.WALLET, "no preference; wallet has a balance")
    return RouteDecision(PaymentRoute.CARD, _card_reason("no preference", facts))


def _card_reason(why: str, facts: RouteFacts) -> str:
    if facts.has_saved_card:
        return f"{why}; saved card"
    return f"{why}; no saved card: owed by the driver"


def _unlinked(facts: RouteFacts) -> RouteDecision:
    if facts.policy is UnlinkedPolicy.REFUSE:
        return RouteDecision(PaymentRoute.REFUSED, "unlinked token; operator refuses")
    if facts.policy is UnlinkedPolicy.FIXED_FEE:
        if facts.fee is None:
            return RouteDecision(PaymentRoute.REFUSED, "unlinked token; no fee set")
        return RouteDecision(
            PaymentRoute.FIXED_FEE,
            f"unlinked token; fixed fee {facts.fee.currency} {facts.fee.amount}",
        )
    return RouteDecision(PaymentRoute.FREE, "unlinked token; operator allows it for free")


def fee_split(*, fee: Money, vat_percent: Decimal) -> tuple[int, int]:
    """A fixed fee (VAT included) as (net, VAT) in minor units: net = fee x 100 / (100 +
    rate), rounded half-even to the minor unit; VAT = fee - net (so they add up exactly)."""
    if vat_percent < 0:
        raise ValueError("a VAT rate cannot be negative")
    gross = fee.minor_units()
    net = (Decimal(gross) * 100 / (100 + vat_percent)).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN
    )
    return int(net), gross - int(net)
