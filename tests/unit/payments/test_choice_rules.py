"""The payment method choice at Authorize (docs/payment-choice.md): every row of the rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evbilling.money import Money
from evbilling.payments.choice_rules import (
    PaymentRoute,
    Preference,
    RouteDecision,
    RouteFacts,
    TokenState,
    UnlinkedPolicy,
    decide_route,
    fee_split,
)

EUR = "EUR"


def eur(amount: str) -> Money:
    return Money.of(amount, EUR)


def driver(**facts: object) -> RouteFacts:
    return RouteFacts(token_state=TokenState.USABLE, driver_id=7, **facts)  # type: ignore[arg-type]


class TestTokensThatMayNotCharge:
    @pytest.mark.parametrize("state", [TokenState.UNKNOWN, TokenState.BLOCKED, TokenState.EXPIRED])
    def test_refuses_them_whatever_else_is_true(self, state: TokenState) -> None:
        facts = RouteFacts(
            token_state=state,
            driver_id=7,
            preference=Preference.CARD,
            has_saved_card=True,
            policy=UnlinkedPolicy.FREE,
        )

        assert decide_route(facts) == RouteDecision(PaymentRoute.REFUSED, f"token {state.value}")


class TestLinkedDriverWithAPreference:
    def test_card_preference_pays_by_the_saved_card(self) -> None:
        decision = decide_route(
            driver(preference=Preference.CARD, has_saved_card=True, account_id=3)
        )

        assert decision == RouteDecision(PaymentRoute.CARD, "driver prefers the card; saved card")

    def test_card_preference_without_a_card_is_owed_by_the_driver(self) -> None:
        decision = decide_route(driver(preference=Preference.CARD))

        assert decision.route is PaymentRoute.CARD
        assert decision.reason == "driver prefers the card; no saved card: owed by the driver"

    def test_wallet_preference_pays_from_the_wallet_even_when_empty(self) -> None:
        decision = decide_route(
            driver(preference=Preference.WALLET, wallet_available=eur("0"), has_saved_card=True)
        )

        assert decision == RouteDecision(PaymentRoute.WALLET, "driver prefers the wallet")

    def test_refuses_a_wallet_preference_without_a_wallet(self) -> None:
        decision = decide_route(driver(preference=Preference.WALLET, has_saved_card=True))

        assert decision == RouteDecision(PaymentRoute.REFUSED, "prefers the wallet; no wallet")

    def test_postpaid_preference_bills_the_account(self) -> None:
        decision = decide_route(
            driver(preference=Preference.POSTPAID, account_id=3, wallet_available=eur("9"))
        )

        assert decision == RouteDecision(PaymentRoute.POSTPAID, "driver prefers postpaid", 3)

    def test_refuses_a_postpaid_preference_without_an_account(self) -> None:
        decision = decide_route(driver(preference=Preference.POSTPAID, has_saved_card=True))

        assert decision == RouteDecision(
            PaymentRoute.REFUSED, "prefers postpaid; no postpaid account"
        )


class TestLinkedDriverWithoutAPreference:
    def test_takes_the_postpaid_account_first(self) -> None:
        decision = decide_route(
            driver(account_id=3, wallet_available=eur("20"), has_saved_card=True)
        )

        assert decision == RouteDecision(
            PaymentRoute.POSTPAID, "no preference; postpaid account linked", 3
        )

    def test_then_a_wallet_with_a_balance(self) -> None:
        decision = decide_route(driver(wallet_available=eur("0.01"), has_saved_card=True))

        assert decision == RouteDecision(PaymentRoute.WALLET, "no preference; wallet has a balance")

    def test_skips_an_empty_wallet_for_the_saved_card(self) -> None:
        decision = decide_route(driver(wallet_available=eur("0"), has_saved_card=True))

        assert decision == RouteDecision(PaymentRoute.CARD, "no preference; saved card")

    def test_without_anything_is_owed_by_the_driver_as_before(self) -> None:
        decision = decide_route(driver())

        assert decision == RouteDecision(
            PaymentRoute.CARD, "no preference; no saved card: owed by the driver"
        )


class TestTokensWithoutADriver:
    def test_a_fleet_token_bills_its_postpaid_account(self) -> None:
        facts = RouteFacts(
            token_state=TokenState.USABLE, account_id=4, policy=UnlinkedPolicy.REFUSE
        )

        assert decide_route(facts) == RouteDecision(
            PaymentRoute.POSTPAID, "fleet token of postpaid account", 4
        )

    def test_an_unlinked_token_is_free_by_default(self) -> None:
        decision = decide_route(RouteFacts(token_state=TokenState.USABLE))

        assert decision == RouteDecision(
            PaymentRoute.FREE, "unlinked token; operator allows it for free"
        )

    def test_refuses_an_unlinked_token_when_the_operator_says_so(self) -> None:
        facts = RouteFacts(token_state=TokenState.USABLE, policy=UnlinkedPolicy.REFUSE)

        assert decide_route(facts) == RouteDecision(
            PaymentRoute.REFUSED, "unlinked token; operator refuses"
        )

    def test_charges_an_unlinked_token_the_fixed_fee(self) -> None:
        facts = RouteFacts(
            token_state=TokenState.USABLE, policy=UnlinkedPolicy.FIXED_FEE, fee=eur("2.00")
        )

        assert decide_route(facts) == RouteDecision(
            PaymentRoute.FIXED_FEE, "unlinked token; fixed fee EUR 2.00"
        )

    def test_refuses_a_fixed_fee_policy_without_a_fee(self) -> None:
        facts = RouteFacts(token_state=TokenState.USABLE, policy=UnlinkedPolicy.FIXED_FEE)

        assert decide_route(facts).route is PaymentRoute.REFUSED


class TestFixedFeeSplit:
    @pytest.mark.parametrize(
        ("fee", "rate", "split"),
        [
            ("2.00", "19", (168, 32)),
            ("2.00", "0", (200, 0)),
            ("1.00", "7.7", (93, 7)),
            ("0.01", "19", (1, 0)),
        ],
    )
    def test_net_and_vat_add_up_to_the_fee(
        self, fee: str, rate: str, split: tuple[int, int]
    ) -> None:
        assert fee_split(fee=eur(fee), vat_percent=Decimal(rate)) == split

    def test_refuses_a_negative_rate(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            fee_split(fee=eur("2.00"), vat_percent=Decimal("-1"))
