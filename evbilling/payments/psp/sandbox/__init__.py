"""The sandbox payment provider: a stateful, deterministic provider served over HTTP by its
own ASGI app (`create_sandbox_app`, its own tables and database), and the client adapter
that implements PaymentProvider against it (`SandboxProvider`). docs/payments-sandbox.md
describes its test cards and rules."""

from evbilling.payments.psp.sandbox.app import create_sandbox_app
from evbilling.payments.psp.sandbox.cards import TEST_CARDS, CardBehaviour
from evbilling.payments.psp.sandbox.client import SandboxProvider
from evbilling.payments.psp.sandbox.webhooks import SIGNATURE_HEADER

__all__ = [
    "SIGNATURE_HEADER",
    "TEST_CARDS",
    "CardBehaviour",
    "SandboxProvider",
    "create_sandbox_app",
]
