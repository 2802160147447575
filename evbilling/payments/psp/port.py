"""What evbilling asks of a payment provider, and what it gets back.

Amounts cross this boundary as `Money` (ISO 4217 exponent); each adapter converts to and from
its provider's own minor units at the call, with its own exponent table. Every call that
creates or moves money takes an `idempotency_key` that the caller has stored (committed)
before calling: a call that raises `OutcomeUnknown` is settled later by `retrieve_*` /
`find_*`, never by a blind retry once the provider's key window has passed.

No card number or CVC ever crosses this boundary: saved methods are tokens with brand, last 4
and expiry only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from evbilling.kit import EVBillingError
from evbilling.money import Money


class ProviderError(EVBillingError):
    """The provider refused the request (bad state, invalid amount...); nothing happened."""

    def __init__(self, message: str, *, code: str = "provider_error") -> None:
        super().__init__(message)
        self.code = code


class ProviderDeclined(ProviderError):
    """The issuer or provider declined: card_declined, insufficient_funds, expired_card..."""


class OutcomeUnknown(EVBillingError):
    """The call may or may not have taken effect (time-out, connection lost, 5xx)."""


class WebhookRejected(EVBillingError):
    """A webhook's signature, timestamp or body did not verify; it must not be acted on."""


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    reference: str  # ours, e.g. "driver:12"


class CardSetupStatus(StrEnum):
    PENDING = "pending"  # the driver has not entered a card yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class SavedMethod:
    """A tokenized card or wallet card: the provider's token and what a driver recognises."""

    id: str
    customer_id: str
    brand: str  # "visa", "mastercard", ...
    last4: str
    exp_month: int
    exp_year: int
    wallet: str | None = None  # "apple_pay", "google_pay" when the card came from a wallet


@dataclass(frozen=True, slots=True)
class CardSetup:
    """A hosted card-entry page the driver fills in (Stripe: a SetupIntent + Checkout)."""

    id: str
    customer_id: str
    status: CardSetupStatus
    url: str  # the provider's page; card numbers are typed there, never on our pages
    method: SavedMethod | None = None  # once SUCCEEDED


class AuthorizationStatus(StrEnum):
    AUTHORIZED = "authorized"  # held, capturable up to `capturable`
    CAPTURED = "captured"  # captured (fully or partly); the rest released
    CANCELED = "canceled"  # voided, or expired unused at the provider
    FAILED = "failed"  # declined; nothing held


@dataclass(frozen=True, slots=True)
class Authorization:
    """A hold on a saved method (Stripe: a PaymentIntent with capture_method=manual)."""

    id: str
    reference: str  # ours, unique per hold: "hold:17"
    status: AuthorizationStatus
    requested: Money
    authorized: Money  # what the issuer actually approved (partial authorization: less)
    captured: Money
    refunded: Money
    capture_before: datetime | None  # read from the provider, never assumed
    incremental_authorization: bool  # the provider says increments are available
    decline_code: str | None = None

    @property
    def capturable(self) -> Money:
        if self.status is not AuthorizationStatus.AUTHORIZED:
            return Money.zero(self.authorized.currency)
        return self.authorized


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Refund:
    id: str
    reference: str  # ours, unique per refund: "refund:5"
    authorization_id: str
    amount: Money
    status: RefundStatus


@dataclass(frozen=True, slots=True)
class BalanceTransaction:
    """One movement on the provider's balance (Stripe: a balance transaction)."""

    id: str
    kind: str  # "capture" | "refund" | "fee" | "adjustment"
    source_id: str  # the authorization or refund it belongs to
    reference: str | None  # our reference when the provider carried it
    amount: Money  # positive for money in (capture), negative for money out (refund, fee)
    fee: Money
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified provider event. `object_id` names the authorization, refund or card setup
    it is about; `object_status` its status at the time of the event (events may arrive
    twice and out of order: act on the state retrieved, never on the event alone)."""

    id: str
    type: str  # "authorization.captured", "card_setup.succeeded", "refund.succeeded", ...
    object_id: str
    object_status: str
    created_at: datetime
    data: Mapping[str, object] = field(default_factory=dict)


class PaymentProvider(Protocol):
    """A payment service provider. Every method is safe to call with the same idempotency key
    again within `idempotency_window`: the provider answers with the first call's result."""

    @property
    def name(self) -> str: ...  # "sandbox", "stripe": stored on every record it created

    @property
    def idempotency_window(self) -> timedelta: ...  # 24 h at Stripe

    def minimum_charge(self, currency: str) -> Money:
        """The smallest amount the provider captures in `currency` (docs/payments.md says
        what happens to a session below it)."""
        ...

    def round_down(self, amount: Money) -> Money:
        """The largest amount not above `amount` that the provider can charge (KWD in steps
        of 0.010 at Stripe, ISK in whole units): holds and captures never round up. The
        money-moving methods refuse an amount not representable (ProviderError
        "amount_not_representable") instead of rounding it."""
        ...

    async def create_customer(
        self, *, idempotency_key: str, reference: str, email: str | None
    ) -> Customer: ...

    async def start_card_setup(
        self, *, idempotency_key: str, customer_id: str, return_url: str
    ) -> CardSetup: ...

    async def retrieve_card_setup(self, *, setup_id: str) -> CardSetup: ...

    async def detach_method(self, *, method_id: str) -> None: ...

    async def authorize(
        self,
        *,
        idempotency_key: str,
        reference: str,
        customer_id: str,
        method_id: str,
        amount: Money,
        off_session: bool,
        statement_descriptor: str | None = None,
    ) -> Authorization:
        """Place a hold. Raises ProviderDeclined when nothing was authorized; a partial
        authorization returns AUTHORIZED with `authorized` < `requested`."""
        ...

    async def increment(
        self, *, idempotency_key: str, authorization_id: str, new_total: Money
    ) -> Authorization: ...

    async def capture(
        self, *, idempotency_key: str, authorization_id: str, amount: Money
    ) -> Authorization:
        """Capture `amount` (≤ capturable); the rest is released."""
        ...

    async def cancel(self, *, idempotency_key: str, authorization_id: str) -> Authorization: ...

    async def retrieve_authorization(self, *, authorization_id: str) -> Authorization: ...

    async def find_authorization(self, *, reference: str) -> Authorization | None:
        """The authorization made for our `reference`, if any (settles a call whose answer
        was lost before its id was stored)."""
        ...

    async def refund(
        self, *, idempotency_key: str, reference: str, authorization_id: str, amount: Money
    ) -> Refund: ...

    async def retrieve_refund(self, *, refund_id: str) -> Refund: ...

    async def find_refund(self, *, reference: str) -> Refund | None: ...

    async def balance_transactions(
        self, *, created_from: datetime, created_to: datetime
    ) -> Sequence[BalanceTransaction]:
        """Every balance movement created in [created_from, created_to)."""
        ...

    def verify_webhook(
        self,
        *,
        payload: bytes,
        headers: Mapping[str, str],
        now: datetime,
        endpoint: str | None = None,
    ) -> WebhookEvent:
        """Check the signature over the raw body (and its timestamp's tolerance) and parse the
        event; raises WebhookRejected. `endpoint` names the webhook endpoint the request
        arrived at (from our URL, never from the body): it picks the signing secret when a
        provider has several (Stripe: one per endpoint); None means the only one."""
        ...
