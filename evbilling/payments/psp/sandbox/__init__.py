"""The sandbox payment provider: a stateful, deterministic provider served over HTTP by its
own ASGI app (`create_sandbox_app`, its own tables and database), and the client adapter
that implements PaymentProvider against it (`SandboxProvider`). docs/payments-sandbox.md
describes its test cards and rules."""

from evbilling.payments.psp.sandbox.app import create_sandbox_app
from evbilling.payments.psp.sandbox.cards import TEST_CARDS, CardBehaviour
from evbilling.payments.psp.sandbox.client import SandboxProvider
from evbilling.payments.psp.sandbox.webhooks import SIGNATURE_HEADER

# Where main keeps the sandbox's own database unless told otherwise (never evbilling's).
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/sandbox-psp.sqlite3"

__all__ = [
    "DEFAULT_DATABASE_URL",
    "SIGNATURE_HEADER",
    "TEST_CARDS",
    "CardBehaviour",
    "SandboxProvider",
    "create_sandbox_app",
]
