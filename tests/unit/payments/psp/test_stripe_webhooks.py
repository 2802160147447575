"""Stripe webhooks: Stripe-Signature over the raw body, the secret chosen by our endpoint
name (never by the body), ±300 s; Stripe event types mapped to ours."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from evbilling.payments.psp import WebhookRejected
from evbilling.payments.psp.stripe import StripeProvider

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRETS = {"stripe": "whsec_main_endpoint", "stripe-connect": "whsec_connect_endpoint"}
EVENT = {
    "id": "evt_1SxCaptured17",
    "object": "event",
    "api_version": "2025-09-30.clover",
    "created": int(NOW.timestamp()),
    "livemode": False,
    "type": "payment_intent.succeeded",
    "data": {
        "object": {
            "id": "pi_3SxHoldEur0017",
            "object": "payment_intent",
            "amount": 6000,
            "amount_received": 4250,
            "currency": "eur",
            "metadata": {"reference": "hold:17"},
            "status": "succeeded",
        }
    },
}
BODY = json.dumps(EVENT).encode()


def signed(
    body: bytes = BODY, *, secret: str = SECRETS["stripe"], at: datetime = NOW
) -> dict[str, str]:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=int(at.timestamp())
    )
    return {"Stripe-Signature": header}


@pytest.fixture
def provider() -> StripeProvider:
    return StripeProvider("sk_test_offline", SECRETS)


class TestVerifyWebhook:
    def test_accepts_the_sdks_signature_and_maps_the_event(self, provider: StripeProvider) -> None:
        event = provider.verify_webhook(payload=BODY, headers=signed(), now=NOW, endpoint="stripe")
        assert event.id == "evt_1SxCaptured17"
        assert event.type == "authorization.captured"
        assert (event.object_id, event.object_status) == ("pi_3SxHoldEur0017", "captured")
        assert event.created_at == NOW
        assert event.data["stripe_type"] == "payment_intent.succeeded"

    def test_the_endpoint_chooses_the_secret(self, provider: StripeProvider) -> None:
        headers = signed(secret=SECRETS["stripe-connect"])
        provider.verify_webhook(payload=BODY, headers=headers, now=NOW, endpoint="stripe-connect")
        with pytest.raises(WebhookRejected):
            provider.verify_webhook(payload=BODY, headers=headers, now=NOW, endpoint="stripe")

    def test_an_unknown_endpoint_is_refused(self, provider: StripeProvider) -> None:
        with pytest.raises(WebhookRejected):
            provider.verify_webhook(payload=BODY, headers=signed(), now=NOW, endpoint="other")

    def test_several_secrets_need_the_endpoint_named(self, provider: StripeProvider) -> None:
        with pytest.raises(WebhookRejected):
            provider.verify_webhook(payload=BODY, headers=signed(), now=NOW)

    def test_one_secret_needs_no_endpoint(self) -> None:
        single = StripeProvider("sk_test_offline", {"stripe": SECRETS["stripe"]})
        assert single.verify_webhook(payload=BODY, headers=signed(), now=NOW).id == EVENT["id"]

    def test_refuses_a_tampered_body(self, provider: StripeProvider) -> None:
        tampered = BODY.replace(b"4250", b"1")
        with pytest.raises(WebhookRejected):
            provider.verify_webhook(payload=tampered, headers=signed(), now=NOW, endpoint="stripe")

    def test_refuses_a_wrong_secret(self, provider: StripeProvider) -> None:
        with pytest.raises(WebhookRejected):
            provider.verify_webhook(
                payload=BODY, headers=signed(secret="whsec_guess"), now=NOW, endpoint="stripe"
            )

    @pytest.mark.parametrize("seconds", [301, -301])
    def test_refuses_stale_and_future_timestamps(
        self, provider: StripeProvider, seconds: int
    ) -> None:
        headers = signed(at=NOW - timedelta(seconds=seconds))
        with pytest.raises(WebhookRejected, match="tolerance"):
            provider.verify_webhook(payload=BODY, headers=headers, now=NOW, endpoint="stripe")

    def test_refuses_a_missing_header(self, provider: StripeProvider) -> None:
        with pytest.raises(WebhookRejected, match="missing"):
            provider.verify_webhook(payload=BODY, headers={}, now=NOW, endpoint="stripe")

    def test_reads_the_header_whatever_its_case(self, provider: StripeProvider) -> None:
        headers = {"stripe-signature": signed()["Stripe-Signature"]}
        provider.verify_webhook(payload=BODY, headers=headers, now=NOW, endpoint="stripe")

    def test_maps_a_checkout_setup_to_a_card_setup_event(self, provider: StripeProvider) -> None:
        body = json.dumps(
            {
                **EVENT,
                "type": "checkout.session.completed",
                "data": {"object": {"id": "cs_test_a1", "object": "checkout.session",
                                    "mode": "setup", "status": "complete"}},
            }
        ).encode()  # fmt: skip
        event = provider.verify_webhook(
            payload=body, headers=signed(body), now=NOW, endpoint="stripe"
        )
        assert (event.type, event.object_id, event.object_status) == (
            "card_setup.succeeded",
            "cs_test_a1",
            "succeeded",
        )

    def test_keeps_unmapped_types_under_a_stripe_prefix(self, provider: StripeProvider) -> None:
        body = json.dumps({**EVENT, "type": "charge.dispute.created"}).encode()
        event = provider.verify_webhook(
            payload=body, headers=signed(body), now=NOW, endpoint="stripe"
        )
        assert event.type == "stripe.charge.dispute.created"
