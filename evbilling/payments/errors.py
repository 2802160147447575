"""The payment slice's failures, each named for what went wrong."""

from __future__ import annotations

from evbilling.kit import Conflict, EVBillingError


class PaymentsError(EVBillingError):
    """Root of the payment slice's failures."""


class RefundTooLarge(PaymentsError):
    """A refund would return more than was captured and not yet refunded."""


class NotRefundable(PaymentsError):
    """The payment captured nothing that could be refunded."""


class NoCustomer(PaymentsError):
    """The driver has no customer at the provider yet (no card was ever set up)."""


class ProviderMismatch(PaymentsError):
    """A record belongs to another provider than the one configured."""


class HoldNotCapturable(Conflict):
    """The hold is in a state that cannot be captured."""
