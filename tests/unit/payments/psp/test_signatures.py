"""The Stripe-style signature shared by the sandbox and the Stripe adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import stripe

from evbilling.payments.psp.port import WebhookRejected
from evbilling.payments.psp.signatures import signature_header, verify_signature

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "whsec_unit_0123456789"
BODY = b'{"id":"evt_1","type":"x","data":{"object":{"id":"o","status":"s"}}}'


def header_at(moment: datetime, *, secret: str = SECRET, body: bytes = BODY) -> str:
    return signature_header(secret=secret, timestamp=int(moment.timestamp()), payload=body)


class TestVerifySignature:
    def test_accepts_a_good_signature(self) -> None:
        assert verify_signature(payload=BODY, header=header_at(NOW), secret=SECRET, now=NOW)

    def test_matches_the_sdks_own_signature(self) -> None:
        sdk_header = stripe.WebhookSignature.generate_signature_header(
            BODY.decode(), SECRET, timestamp=int(NOW.timestamp())
        )
        assert sdk_header == header_at(NOW)

    def test_accepts_any_of_several_signatures(self) -> None:
        good = header_at(NOW).split(",")[1]
        header = f"t={int(NOW.timestamp())},v1={'0' * 64},{good}"
        verify_signature(payload=BODY, header=header, secret=SECRET, now=NOW)

    @pytest.mark.parametrize(
        "header",
        [None, "", "garbage", "t=abc,v1=00", f"t={int(NOW.timestamp())}", "v1=00"],
    )
    def test_refuses_missing_or_malformed_headers(self, header: str | None) -> None:
        with pytest.raises(WebhookRejected):
            verify_signature(payload=BODY, header=header, secret=SECRET, now=NOW)

    def test_refuses_a_tampered_body(self) -> None:
        with pytest.raises(WebhookRejected, match="does not match"):
            verify_signature(
                payload=BODY.replace(b"evt_1", b"evt_2"), header=header_at(NOW), secret=SECRET,
                now=NOW,
            )  # fmt: skip

    def test_refuses_another_secret(self) -> None:
        with pytest.raises(WebhookRejected, match="does not match"):
            verify_signature(
                payload=BODY, header=header_at(NOW, secret="whsec_other"), secret=SECRET, now=NOW
            )

    @pytest.mark.parametrize("offset", [timedelta(seconds=301), timedelta(seconds=-301)])
    def test_refuses_timestamps_beyond_300_seconds(self, offset: timedelta) -> None:
        with pytest.raises(WebhookRejected, match="tolerance"):
            verify_signature(payload=BODY, header=header_at(NOW + offset), secret=SECRET, now=NOW)

    @pytest.mark.parametrize("offset", [timedelta(seconds=300), timedelta(seconds=-300)])
    def test_accepts_timestamps_within_300_seconds(self, offset: timedelta) -> None:
        verify_signature(payload=BODY, header=header_at(NOW + offset), secret=SECRET, now=NOW)

    def test_refuses_when_no_secret_is_configured(self) -> None:
        with pytest.raises(WebhookRejected):
            verify_signature(payload=BODY, header=header_at(NOW), secret="", now=NOW)

    def test_refuses_non_ascii_signatures_without_crashing(self) -> None:
        header = f"t={int(NOW.timestamp())},v1=é{'0' * 63}"
        with pytest.raises(WebhookRejected):
            verify_signature(payload=BODY, header=header, secret=SECRET, now=NOW)
