"""StripeProvider against recorded Stripe exchanges (offline): what it sends (parameters,
Stripe minor units, idempotency keys) and how it reads Stripe's objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evbilling.money import Money
from evbilling.payments.psp import (
    AuthorizationStatus,
    CardSetupStatus,
    OutcomeUnknown,
    ProviderDeclined,
    ProviderError,
    RefundStatus,
)
from evbilling.payments.psp.stripe import StripeProvider
from tests.unit.payments.psp.stripe_replay import ReplayHTTPClient

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMER = "cus_TestDriver17aB"
METHOD = "pm_1SandboxVisa4242"


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def provider_for(*fixtures: str) -> tuple[StripeProvider, ReplayHTTPClient]:
    replay = ReplayHTTPClient(*fixtures)
    provider = StripeProvider(
        "sk_test_offline", {"stripe": "whsec_offline"}, http_client=replay, max_network_retries=0
    )
    return provider, replay


class TestHolds:
    async def test_a_merchant_initiated_hold_in_eur(self) -> None:
        provider, replay = provider_for("hold_increment_capture_eur.json")

        hold = await provider.authorize(
            idempotency_key="hold:17:1", reference="hold:17", customer_id=CUSTOMER,
            method_id=METHOD, amount=Money.of("50.00", "EUR"), off_session=True,
        )  # fmt: skip

        sent = replay.sent[0]
        assert sent.headers["Idempotency-Key"] == "hold:17:1"
        assert sent.form["amount"] == "5000"
        assert sent.form["capture_method"] == "manual"
        assert sent.form["confirm"] == "true"
        assert sent.form["off_session"] == "true"
        assert hold.status is AuthorizationStatus.AUTHORIZED
        assert hold.authorized == Money.of("50.00", "EUR")
        assert hold.reference == "hold:17"
        assert hold.capture_before == T0 + timedelta(days=7)
        assert hold.incremental_authorization

    async def test_increments_when_the_charge_offers_it_then_captures(self) -> None:
        provider, replay = provider_for("hold_increment_capture_eur.json")
        hold = await provider.authorize(
            idempotency_key="hold:17:1", reference="hold:17", customer_id=CUSTOMER,
            method_id=METHOD, amount=Money.of("50.00", "EUR"), off_session=True,
        )  # fmt: skip

        raised = await provider.increment(
            idempotency_key="increment:17:1", authorization_id=hold.id,
            new_total=Money.of("60.00", "EUR"),
        )  # fmt: skip
        captured = await provider.capture(
            idempotency_key="capture:17:1", authorization_id=hold.id,
            amount=Money.of("42.50", "EUR"),
        )  # fmt: skip

        assert raised.authorized == Money.of("60.00", "EUR")
        assert replay.sent[2].headers["Idempotency-Key"] == "increment:17:1"
        assert replay.sent[3].form["amount_to_capture"] == "4250"
        assert replay.sent[3].headers["Idempotency-Key"] == "capture:17:1"
        assert captured.status is AuthorizationStatus.CAPTURED
        assert captured.captured == Money.of("42.50", "EUR")
        assert captured.capturable == Money.zero("EUR")
        assert not replay.exchanges

    async def test_a_driver_present_hold_in_jpy(self) -> None:
        provider, replay = provider_for("hold_jpy_on_session.json")
        hold = await provider.authorize(
            idempotency_key="hold:18:1", reference="hold:18", customer_id=CUSTOMER,
            method_id=METHOD, amount=Money.of("5000", "JPY"), off_session=False,
        )  # fmt: skip
        assert replay.sent[0].form["amount"] == "5000"
        assert "off_session" not in replay.sent[0].form
        assert hold.authorized == Money.of("5000", "JPY")
        assert hold.capture_before == T0 + timedelta(days=2)  # read from the charge

    async def test_a_partial_authorization_in_kwd_and_no_increment(self) -> None:
        provider, replay = provider_for("hold_kwd_partial.json")
        hold = await provider.authorize(
            idempotency_key="hold:19:1", reference="hold:19", customer_id=CUSTOMER,
            method_id=METHOD, amount=Money.of("12.340", "KWD"), off_session=True,
        )  # fmt: skip
        assert replay.sent[0].form["amount"] == "12340"
        assert hold.requested == Money.of("12.340", "KWD")
        assert hold.authorized == Money.of("10.000", "KWD")
        assert not hold.incremental_authorization

        with pytest.raises(ProviderError) as refused:
            await provider.increment(
                idempotency_key="increment:19:1", authorization_id=hold.id,
                new_total=Money.of("15.000", "KWD"),
            )  # fmt: skip
        assert refused.value.code == "incremental_authorization_unavailable"
        assert [request.path for request in replay.sent] == [
            "/v1/payment_intents",
            f"/v1/payment_intents/{hold.id}",
        ]

    async def test_refuses_an_amount_stripe_cannot_charge_without_calling(self) -> None:
        provider, replay = provider_for()
        with pytest.raises(ProviderError) as refused:
            await provider.authorize(
                idempotency_key="hold:19:1", reference="hold:19", customer_id=CUSTOMER,
                method_id=METHOD, amount=Money.of("12.345", "KWD"), off_session=True,
            )  # fmt: skip
        assert refused.value.code == "amount_not_representable"
        assert replay.sent == []

    async def test_a_decline_is_provider_declined(self) -> None:
        provider, _ = provider_for("hold_declined.json")
        with pytest.raises(ProviderDeclined) as declined:
            await provider.authorize(
                idempotency_key="hold:20:1", reference="hold:20", customer_id=CUSTOMER,
                method_id=METHOD, amount=Money.of("30.00", "EUR"), off_session=True,
            )  # fmt: skip
        assert declined.value.code == "insufficient_funds"

    async def test_a_server_error_is_an_unknown_outcome(self) -> None:
        provider, _ = provider_for("hold_server_error.json")
        with pytest.raises(OutcomeUnknown):
            await provider.capture(
                idempotency_key="capture:17:1", authorization_id="pi_3SxHoldEur0017",
                amount=Money.of("42.50", "EUR"),
            )  # fmt: skip

    async def test_a_reused_key_is_a_provider_error(self) -> None:
        provider, _ = provider_for("idempotency_mismatch.json")
        with pytest.raises(ProviderError) as refused:
            await provider.capture(
                idempotency_key="capture:17:1", authorization_id="pi_3SxHoldEur0017",
                amount=Money.of("40.00", "EUR"),
            )  # fmt: skip
        assert refused.value.code == "idempotency_error"

    async def test_cancel_and_refund(self) -> None:
        provider, replay = provider_for("cancel_and_refund.json")
        canceled = await provider.cancel(
            idempotency_key="cancel:18:1", authorization_id="pi_3SxHoldJpy0018"
        )
        refund = await provider.refund(
            idempotency_key="refund:5:1", reference="refund:5",
            authorization_id="pi_3SxHoldEur0017", amount=Money.of("10.00", "EUR"),
        )  # fmt: skip
        assert canceled.status is AuthorizationStatus.CANCELED
        assert replay.sent[0].headers["Idempotency-Key"] == "cancel:18:1"
        assert replay.sent[1].headers["Idempotency-Key"] == "refund:5:1"
        assert refund.amount == Money.of("10.00", "EUR")
        assert refund.status is RefundStatus.SUCCEEDED
        assert (refund.reference, refund.authorization_id) == ("refund:5", "pi_3SxHoldEur0017")


class TestLookups:
    async def test_finds_holds_and_refunds_by_our_reference(self) -> None:
        provider, replay = provider_for("find_by_reference.json")
        found = await provider.find_authorization(reference="hold:17")
        missing = await provider.find_authorization(reference="hold:99")
        refund = await provider.find_refund(reference="refund:5")
        assert found is not None
        assert (found.id, found.status) == ("pi_3SxHoldEur0017", AuthorizationStatus.CAPTURED)
        assert missing is None
        assert refund is not None
        assert refund.id == "re_3SxRefund0005"
        assert replay.sent[0].query["query"] == "metadata['reference']:'hold:17'"

    async def test_lists_balance_transactions_in_a_window(self) -> None:
        provider, replay = provider_for("balance_transactions.json")
        movements = await provider.balance_transactions(
            created_from=T0, created_to=T0 + timedelta(days=2)
        )
        assert [(m.kind, m.source_id, m.reference, m.amount, m.fee) for m in movements] == [
            ("refund", "re_3SxRefund0005", "refund:5", eur("-10.00"), eur("0")),
            ("capture", "pi_3SxHoldEur0017", "hold:17", eur("42.50"), eur("0.85")),
        ]
        assert replay.sent[0].query["created[gte]"] == str(int(T0.timestamp()))


class TestCardSetup:
    async def test_customer_and_hosted_setup_page(self) -> None:
        provider, replay = provider_for("card_setup.json")
        customer = await provider.create_customer(
            idempotency_key="customer:17", reference="driver:17", email="driver17@example.com"
        )
        setup = await provider.start_card_setup(
            idempotency_key="setup:17:1", customer_id=customer.id,
            return_url="https://evbilling.example/cards/return",
        )  # fmt: skip
        done = await provider.retrieve_card_setup(setup_id=setup.id)

        assert customer.id == CUSTOMER
        assert replay.sent[1].form["mode"] == "setup"
        assert replay.sent[1].headers["Idempotency-Key"] == "setup:17:1"
        assert setup.status is CardSetupStatus.PENDING
        assert setup.url.startswith("https://checkout.stripe.com/")
        assert done.status is CardSetupStatus.SUCCEEDED
        assert done.method is not None
        assert (done.method.id, done.method.brand, done.method.last4) == (METHOD, "visa", "4242")
        assert (done.method.exp_month, done.method.exp_year) == (12, 2034)
