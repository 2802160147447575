"""The payment-provider boundary: one Protocol (`port.PaymentProvider`) with dataclasses, and
one module per provider (`sandbox`, `stripe`). Only `payments.psp.stripe` imports stripe."""

from evbilling.payments.psp.port import (
    Authorization,
    AuthorizationStatus,
    BalanceTransaction,
    CardSetup,
    CardSetupStatus,
    Customer,
    OutcomeUnknown,
    PaymentProvider,
    ProviderDeclined,
    ProviderError,
    Refund,
    RefundStatus,
    SavedMethod,
    WebhookEvent,
    WebhookRejected,
)

__all__ = [
    "Authorization",
    "AuthorizationStatus",
    "BalanceTransaction",
    "CardSetup",
    "CardSetupStatus",
    "Customer",
    "OutcomeUnknown",
    "PaymentProvider",
    "ProviderDeclined",
    "ProviderError",
    "Refund",
    "RefundStatus",
    "SavedMethod",
    "WebhookEvent",
    "WebhookRejected",
]
