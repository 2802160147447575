"""Both adapters are PaymentProviders (checked by mypy through these assignments, and at run
time for the attributes the port names)."""

from __future__ import annotations

import inspect

from evbilling.payments.psp import PaymentProvider
from evbilling.payments.psp.sandbox import SandboxProvider
from evbilling.payments.psp.stripe import StripeProvider


def providers() -> list[PaymentProvider]:
    sandbox: PaymentProvider = SandboxProvider("http://127.0.0.1:9", "sk", "whsec")
    stripe: PaymentProvider = StripeProvider("sk_test_offline", {"stripe": "whsec"})
    return [sandbox, stripe]


class TestPortConformance:
    def test_every_port_method_is_implemented(self) -> None:
        names = [
            name for name, _ in inspect.getmembers(PaymentProvider) if not name.startswith("_")
        ]
        for provider in providers():
            for name in names:
                assert hasattr(provider, name), (type(provider).__name__, name)

    def test_names_and_key_windows(self) -> None:
        sandbox, stripe = providers()
        assert (sandbox.name, stripe.name) == ("sandbox", "stripe")
        assert sandbox.idempotency_window.total_seconds() == 24 * 3600
        assert stripe.idempotency_window.total_seconds() == 24 * 3600
