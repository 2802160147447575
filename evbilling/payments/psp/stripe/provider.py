"""`StripeProvider`: PaymentProvider on the official SDK's `stripe.StripeClient`, async
methods (`*_async`) over an async HTTP client (the SDK's httpx client by default).

- customers: Customer objects with `metadata[reference]`;
- saved cards: a Checkout Session in setup mode (the hosted page; it creates the
  SetupIntent), retrieved with its SetupIntent and PaymentMethod expanded;
- holds: PaymentIntents with capture_method=manual, confirm=true, off_session for
  merchant-initiated starts, `payment_method_options.card.request_incremental_authorization`
  = if_available; capture deadline and increment availability read from the latest charge;
- increments only when that charge says `incremental_authorization.status == "available"`;
- capture with amount_to_capture (the rest is released by Stripe), cancel, refunds;
- lookups by our reference: PaymentIntent search on `metadata['reference']` (Stripe's
  search index lags writes by up to about a minute: a hold created seconds ago may not be
  found yet), refunds by scanning the newest refunds' metadata;
- balance transactions with created[gte]/[lt] (whole seconds, as Stripe stores them);
- webhooks: `Stripe-Signature` verified like `stripe.Webhook.construct_event` (HMAC-SHA256
  over the raw body) with the secret of the endpoint the request arrived at, ±300 s.

Every money-moving call carries the caller's idempotency key (`Idempotency-Key` header).
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import stripe
from stripe.params import (
    BalanceTransactionListParams,
    CustomerCreateParams,
    PaymentIntentCaptureParams,
    PaymentIntentCreateParams,
    PaymentIntentIncrementAuthorizationParams,
    RefundCreateParams,
)
from stripe.params.checkout import SessionCreateParams

from evbilling.money import Money
from evbilling.payments.psp.currencies import STRIPE_CURRENCIES, ProviderCurrencies
from evbilling.payments.psp.port import (
    Authorization,
    BalanceTransaction,
    CardSetup,
    Customer,
    OutcomeUnknown,
    ProviderDeclined,
    ProviderError,
    Refund,
    WebhookEvent,
    WebhookRejected,
)
from evbilling.payments.psp.signatures import header_value, verify_signature
from evbilling.payments.psp.stripe import mapping

SIGNATURE_HEADER = "Stripe-Signature"
_INTENT_EXPAND = ["latest_charge"]
_REFUND_SCAN_LIMIT = 1000


class StripeProvider:
    def __init__(
        self,
        api_key: str,
        webhook_secrets: Mapping[str, str],
        http_client: stripe.HTTPClient | None = None,
        *,
        max_network_retries: int = 2,
        setup_currency: str = "EUR",
    ) -> None:
        """`webhook_secrets`: endpoint name -> signing secret (whsec_...), one per webhook
        endpoint configured at Stripe. The SDK retries a request whose answer was lost with
        the same idempotency key, within seconds (safe inside Stripe's 24 h window).
        `setup_currency`: the currency Checkout shows card set-ups in (setup mode needs
        one)."""
        self._webhook_secrets = dict(webhook_secrets)
        self._setup_currency = setup_currency.lower()
        self._client = stripe.StripeClient(
            api_key,
            http_client=http_client or stripe.HTTPXClient(),
            max_network_retries=max_network_retries,
        )
        self.currencies: ProviderCurrencies = STRIPE_CURRENCIES

    @property
    def name(self) -> str:
        return "stripe"

    @property
    def idempotency_window(self) -> timedelta:
        return timedelta(hours=24)

    def minimum_charge(self, currency: str) -> Money:
        return self.currencies.minimum_charge(currency)

    def round_down(self, amount: Money) -> Money:
        return self.currencies.round_down(amount)

    # -- customers and cards ---------------------------------------------------------------

    async def create_customer(
        self, *, idempotency_key: str, reference: str, email: str | None
    ) -> Customer:
        params: CustomerCreateParams = {"metadata": {"reference": reference}}
        if email:
            params["email"] = email
        async with _calling():
            customer = await self._client.v1.customers.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        return Customer(id=customer.id, reference=reference)

    async def start_card_setup(
        self, *, idempotency_key: str, customer_id: str, return_url: str
    ) -> CardSetup:
        separator = "&" if "?" in return_url else "?"
        params: SessionCreateParams = {
            "mode": "setup",
            "customer": customer_id,
            "currency": self._setup_currency,
            "success_url": f"{return_url}{separator}setup_id={{CHECKOUT_SESSION_ID}}",
            "cancel_url": return_url,
        }
        async with _calling():
            session = await self._client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        return mapping.card_setup(session.to_dict())

    async def retrieve_card_setup(self, *, setup_id: str) -> CardSetup:
        async with _calling():
            session = await self._client.v1.checkout.sessions.retrieve_async(
                setup_id, {"expand": ["setup_intent", "setup_intent.payment_method"]}
            )
        return mapping.card_setup(session.to_dict())

    async def detach_method(self, *, method_id: str) -> None:
        async with _calling():
            await self._client.v1.payment_methods.detach_async(method_id)

    # -- holds ------------------------------------------------------------------------------

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
        params: PaymentIntentCreateParams = {
            "amount": self.currencies.to_minor(amount),
            "currency": amount.currency.lower(),
            "customer": customer_id,
            "payment_method": method_id,
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "capture_method": "manual",
            "confirm": True,
            "metadata": {"reference": reference},
            "payment_method_options": {
                "card": {"request_incremental_authorization": "if_available"}
            },
            "expand": _INTENT_EXPAND,
        }
        if off_session:
            params["off_session"] = True
        if statement_descriptor:
            params["statement_descriptor_suffix"] = statement_descriptor[:22]
        async with _calling():
            intent = await self._client.v1.payment_intents.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        return mapping.authorization(intent.to_dict())

    async def increment(
        self, *, idempotency_key: str, authorization_id: str, new_total: Money
    ) -> Authorization:
        current = await self.retrieve_authorization(authorization_id=authorization_id)
        if not current.incremental_authorization:
            raise ProviderError(
                "the charge does not offer incremental authorization",
                code="incremental_authorization_unavailable",
            )
        params: PaymentIntentIncrementAuthorizationParams = {
            "amount": self.currencies.to_minor(new_total),
            "expand": _INTENT_EXPAND,
        }
        async with _calling():
            intent = await self._client.v1.payment_intents.increment_authorization_async(
                authorization_id, params, {"idempotency_key": idempotency_key}
            )
        return mapping.authorization(intent.to_dict())

    async def capture(
        self, *, idempotency_key: str, authorization_id: str, amount: Money
    ) -> Authorization:
        params: PaymentIntentCaptureParams = {
            "amount_to_capture": self.currencies.to_minor(amount),
            "expand": _INTENT_EXPAND,
        }
        async with _calling():
            intent = await self._client.v1.payment_intents.capture_async(
                authorization_id, params, {"idempotency_key": idempotency_key}
            )
        return mapping.authorization(intent.to_dict())

    async def cancel(self, *, idempotency_key: str, authorization_id: str) -> Authorization:
        async with _calling():
            intent = await self._client.v1.payment_intents.cancel_async(
                authorization_id, {"expand": _INTENT_EXPAND}, {"idempotency_key": idempotency_key}
            )
        return mapping.authorization(intent.to_dict())

    async def retrieve_authorization(self, *, authorization_id: str) -> Authorization:
        async with _calling():
            intent = await self._client.v1.payment_intents.retrieve_async(
                authorization_id, {"expand": _INTENT_EXPAND}
            )
        return mapping.authorization(intent.to_dict())

    async def find_authorization(self, *, reference: str) -> Authorization | None:
        query = f"metadata['reference']:'{_quoted(reference)}'"
        async with _calling():
            found = await self._client.v1.payment_intents.search_async(
                {"query": query, "limit": 10, "expand": ["data.latest_charge"]}
            )
        intents = [intent.to_dict() for intent in found.data]
        if not intents:
            return None
        newest = max(intents, key=lambda intent: (int(intent.get("created") or 0), intent["id"]))
        return mapping.authorization(newest)

    # -- refunds and balance ------------------------------------------------------------------

    async def refund(
        self, *, idempotency_key: str, reference: str, authorization_id: str, amount: Money
    ) -> Refund:
        params: RefundCreateParams = {
            "payment_intent": authorization_id,
            "amount": self.currencies.to_minor(amount),
            "metadata": {"reference": reference},
        }
        async with _calling():
            created = await self._client.v1.refunds.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        return mapping.refund(created.to_dict())

    async def retrieve_refund(self, *, refund_id: str) -> Refund:
        async with _calling():
            found = await self._client.v1.refunds.retrieve_async(refund_id)
        return mapping.refund(found.to_dict())

    async def find_refund(self, *, reference: str) -> Refund | None:
        """Refunds cannot be searched: the newest refunds (up to 1,000) are scanned."""
        seen = 0
        async with _calling():
            page = await self._client.v1.refunds.list_async({"limit": 100})
            async for item in page.auto_paging_iter():
                obj = item.to_dict()
                if (obj.get("metadata") or {}).get("reference") == reference:
                    return mapping.refund(obj)
                seen += 1
                if seen >= _REFUND_SCAN_LIMIT:
                    break
        return None

    async def balance_transactions(
        self, *, created_from: datetime, created_to: datetime
    ) -> Sequence[BalanceTransaction]:
        params: BalanceTransactionListParams = {
            # Stripe records whole seconds: second s is in [from, to) iff ceil(from) <= s < ceil(to)
            "created": {
                "gte": math.ceil(created_from.timestamp()),
                "lt": math.ceil(created_to.timestamp()),
            },
            "limit": 100,
            "expand": ["data.source"],
        }
        result: list[BalanceTransaction] = []
        async with _calling():
            page = await self._client.v1.balance_transactions.list_async(params)
            async for item in page.auto_paging_iter():
                result.append(mapping.balance_transaction(item.to_dict()))
        return result

    # -- webhooks -------------------------------------------------------------------------------

    def verify_webhook(
        self,
        *,
        payload: bytes,
        headers: Mapping[str, str],
        now: datetime,
        endpoint: str | None = None,
    ) -> WebhookEvent:
        """The secret comes from the endpoint name (our URL), never from the body; with one
        configured secret `endpoint` may be omitted."""
        secret = self._secret_for(endpoint)
        verify_signature(
            payload=payload, header=header_value(headers, SIGNATURE_HEADER), secret=secret,
            now=now,
        )  # fmt: skip
        try:
            event = json.loads(payload)
            stripe_type = str(event["type"])
            obj: Mapping[str, Any] = event["data"]["object"]
            return WebhookEvent(
                id=str(event["id"]),
                type=mapping.EVENT_TYPES.get(stripe_type, f"stripe.{stripe_type}"),
                object_id=str(obj["id"]),
                object_status=mapping.event_status(stripe_type, obj),
                created_at=mapping.instant(int(event["created"])) or now,
                data={"stripe_type": stripe_type, "object": obj},
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("the webhook body is not a Stripe event") from exc

    def _secret_for(self, endpoint: str | None) -> str:
        if endpoint is None:
            if len(self._webhook_secrets) == 1:
                return next(iter(self._webhook_secrets.values()))
            raise WebhookRejected("several Stripe webhook secrets: the endpoint must be named")
        secret = self._webhook_secrets.get(endpoint)
        if secret is None:
            raise WebhookRejected(f"no webhook secret for endpoint {endpoint[:40]!r}")
        return secret


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


@asynccontextmanager
async def _calling() -> AsyncIterator[None]:
    """Stripe's errors -> the port's: declines, refusals (nothing happened), and unknown
    outcomes (connection lost, 5xx, rate limited: settle by retrieving)."""
    try:
        yield
    except stripe.CardError as exc:
        decline = getattr(exc.error, "decline_code", None) if exc.error else None
        raise ProviderDeclined(
            exc.user_message or str(exc), code=decline or exc.code or "card_declined"
        ) from exc
    except stripe.IdempotencyError as exc:
        raise ProviderError(str(exc), code="idempotency_error") from exc
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        raise OutcomeUnknown(f"Stripe did not answer conclusively: {type(exc).__name__}") from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        raise ProviderError(str(exc), code="authentication") from exc
    except stripe.StripeError as exc:
        status = exc.http_status
        if status is None or status >= 500 or status == 409:
            raise OutcomeUnknown(f"Stripe answered {status}: {type(exc).__name__}") from exc
        raise ProviderError(
            exc.user_message or str(exc), code=exc.code or "invalid_request"
        ) from exc
