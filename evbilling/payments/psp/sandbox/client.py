"""`SandboxProvider`: the PaymentProvider that talks to the sandbox server over HTTP (httpx),
exactly as an adapter talks to a real provider: idempotency keys in headers, amounts in the
provider's units, errors mapped to ProviderError / ProviderDeclined / OutcomeUnknown."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from evbilling.money import Money
from evbilling.payments.psp.currencies import SANDBOX_CURRENCIES, ProviderCurrencies
from evbilling.payments.psp.port import (
    Authorization,
    AuthorizationStatus,
    BalanceTransaction,
    CardSetup,
    CardSetupStatus,
    Customer,
    OutcomeUnknown,
    ProviderDeclined,
    ProviderError,
    Refund,
    RefundStatus,
    SavedMethod,
    WebhookEvent,
    WebhookRejected,
)
from evbilling.payments.psp.sandbox.webhooks import SIGNATURE_HEADER
from evbilling.payments.psp.signatures import header_value, verify_signature

_AUTHORIZATION_STATUS = {status.value: status for status in AuthorizationStatus}


class SandboxProvider:
    """The sandbox payment provider, reached at `base_url` (e.g. http://host/sandbox-psp)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        webhook_secret: str,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        timeout: float = 15.0,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/v1",
            transport=transport,
            timeout=timeout,
            headers={"Authorization": f"Bearer {api_key}"},
        )
        self.currencies: ProviderCurrencies = SANDBOX_CURRENCIES

    @property
    def name(self) -> str:
        return "sandbox"

    @property
    def idempotency_window(self) -> timedelta:
        return timedelta(hours=24)

    def minimum_charge(self, currency: str) -> Money:
        return self.currencies.minimum_charge(currency)

    def round_down(self, amount: Money) -> Money:
        return self.currencies.round_down(amount)

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- HTTP ---------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        idempotency_key: str | None = None,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        try:
            response = await self._client.request(
                method, path, json=body, params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            raise OutcomeUnknown(
                f"sandbox {method} {path}: no answer ({type(exc).__name__})"
            ) from exc
        try:
            payload: dict[str, Any] = response.json()
        except ValueError as exc:
            raise OutcomeUnknown(f"sandbox {method} {path}: unreadable answer") from exc
        if response.is_success:
            return payload
        raise _error(response.status_code, payload)

    # -- customers and saved methods -------------------------------------------------------

    async def create_customer(
        self, *, idempotency_key: str, reference: str, email: str | None
    ) -> Customer:
        data = await self._call(
            "POST", "/customers", idempotency_key=idempotency_key,
            body={"reference": reference, "email": email},
        )  # fmt: skip
        return Customer(id=data["id"], reference=data["reference"])

    async def start_card_setup(
        self, *, idempotency_key: str, customer_id: str, return_url: str
    ) -> CardSetup:
        data = await self._call(
            "POST", "/card_setups", idempotency_key=idempotency_key,
            body={"customer": customer_id, "return_url": return_url},
        )  # fmt: skip
        return _card_setup(data)

    async def retrieve_card_setup(self, *, setup_id: str) -> CardSetup:
        return _card_setup(await self._call("GET", f"/card_setups/{setup_id}"))

    async def detach_method(self, *, method_id: str) -> None:
        await self._call(
            "POST", f"/payment_methods/{method_id}/detach",
            idempotency_key=f"detach:{method_id}",
        )  # fmt: skip

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
        body = {
            "reference": reference,
            "customer": customer_id,
            "payment_method": method_id,
            "currency": amount.currency,
            "amount": self.currencies.to_minor(amount),
            "off_session": off_session,
            "statement_descriptor": statement_descriptor,
        }
        data = await self._call(
            "POST", "/authorizations", idempotency_key=idempotency_key, body=body
        )
        return self._authorization(data)

    async def increment(
        self, *, idempotency_key: str, authorization_id: str, new_total: Money
    ) -> Authorization:
        data = await self._call(
            "POST", f"/authorizations/{authorization_id}/increment",
            idempotency_key=idempotency_key,
            body={"amount": self.currencies.to_minor(new_total)},
        )  # fmt: skip
        return self._authorization(data)

    async def capture(
        self, *, idempotency_key: str, authorization_id: str, amount: Money
    ) -> Authorization:
        data = await self._call(
            "POST", f"/authorizations/{authorization_id}/capture",
            idempotency_key=idempotency_key, body={"amount": self.currencies.to_minor(amount)},
        )  # fmt: skip
        return self._authorization(data)

    async def cancel(self, *, idempotency_key: str, authorization_id: str) -> Authorization:
        data = await self._call(
            "POST", f"/authorizations/{authorization_id}/cancel",
            idempotency_key=idempotency_key, body={},
        )  # fmt: skip
        return self._authorization(data)

    async def retrieve_authorization(self, *, authorization_id: str) -> Authorization:
        return self._authorization(await self._call("GET", f"/authorizations/{authorization_id}"))

    async def find_authorization(self, *, reference: str) -> Authorization | None:
        data = await self._call("GET", "/authorizations", params={"reference": reference})
        found = data["data"]
        return self._authorization(found[0]) if found else None

    # -- refunds and balance ------------------------------------------------------------------

    async def refund(
        self, *, idempotency_key: str, reference: str, authorization_id: str, amount: Money
    ) -> Refund:
        data = await self._call(
            "POST", "/refunds", idempotency_key=idempotency_key,
            body={
                "reference": reference, "authorization": authorization_id,
                "amount": self.currencies.to_minor(amount),
            },
        )  # fmt: skip
        return self._refund(data)

    async def retrieve_refund(self, *, refund_id: str) -> Refund:
        return self._refund(await self._call("GET", f"/refunds/{refund_id}"))

    async def find_refund(self, *, reference: str) -> Refund | None:
        data = await self._call("GET", "/refunds", params={"reference": reference})
        found = data["data"]
        return self._refund(found[0]) if found else None

    async def balance_transactions(
        self, *, created_from: datetime, created_to: datetime
    ) -> Sequence[BalanceTransaction]:
        data = await self._call(
            "GET", "/balance_transactions",
            params={"created_gte": created_from.isoformat(), "created_lt": created_to.isoformat()},
        )  # fmt: skip
        return [
            BalanceTransaction(
                id=row["id"],
                kind=row["kind"],
                source_id=row["source"],
                reference=row["reference"],
                amount=self.currencies.from_minor(row["amount"], row["currency"]),
                fee=self.currencies.from_minor(row["fee"], row["currency"]),
                created_at=datetime.fromisoformat(row["created"]),
            )
            for row in data["data"]
        ]

    # -- webhooks -------------------------------------------------------------------------------

    def verify_webhook(
        self,
        *,
        payload: bytes,
        headers: Mapping[str, str],
        now: datetime,
        endpoint: str | None = None,
    ) -> WebhookEvent:
        """Sandbox-Signature over the raw body, ±300 s; the sandbox has one secret, so
        `endpoint` is not needed."""
        verify_signature(
            payload=payload,
            header=header_value(headers, SIGNATURE_HEADER),
            secret=self._webhook_secret,
            now=now,
        )
        return parse_event(payload)

    # -- mapping ---------------------------------------------------------------------------------

    def _money(self, units: int, currency: str) -> Money:
        return self.currencies.from_minor(units, currency)

    def _authorization(self, data: Mapping[str, Any]) -> Authorization:
        currency = data["currency"]
        capture_before = data["capture_before"]
        return Authorization(
            id=data["id"],
            reference=data["reference"],
            status=_AUTHORIZATION_STATUS[data["status"]],
            requested=self._money(data["amount_requested"], currency),
            authorized=self._money(data["amount_authorized"], currency),
            captured=self._money(data["amount_captured"], currency),
            refunded=self._money(data["amount_refunded"], currency),
            capture_before=None
            if capture_before is None
            else datetime.fromisoformat(capture_before),
            incremental_authorization=bool(data["incremental_authorization"]),
            decline_code=data["decline_code"],
        )

    def _refund(self, data: Mapping[str, Any]) -> Refund:
        return Refund(
            id=data["id"],
            reference=data["reference"],
            authorization_id=data["authorization"],
            amount=self._money(data["amount"], data["currency"]),
            status=RefundStatus(data["status"]),
        )


def parse_event(payload: bytes) -> WebhookEvent:
    """A sandbox event from a body whose signature was verified."""
    try:
        event = json.loads(payload)
        obj = event["data"]["object"]
        return WebhookEvent(
            id=str(event["id"]),
            type=str(event["type"]),
            object_id=str(obj["id"]),
            object_status=str(obj["status"]),
            created_at=datetime.fromtimestamp(int(event["created"]), tz=UTC),
            data=obj,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookRejected("the webhook body is not a sandbox event") from exc


def _card_setup(data: Mapping[str, Any]) -> CardSetup:
    method = data["payment_method"]
    return CardSetup(
        id=data["id"],
        customer_id=data["customer"],
        status=CardSetupStatus(data["status"]),
        url=data["url"],
        method=None
        if method is None
        else SavedMethod(
            id=method["id"],
            customer_id=method["customer"],
            brand=method["brand"],
            last4=method["last4"],
            exp_month=method["exp_month"],
            exp_year=method["exp_year"],
        ),
    )


def _error(status: int, payload: Mapping[str, Any]) -> Exception:
    error = payload.get("error") if isinstance(payload, Mapping) else None
    if not isinstance(error, Mapping):
        return OutcomeUnknown(f"sandbox answered {status} without an error body")
    code = str(error.get("code") or "provider_error")
    message = str(error.get("message") or code)
    if status >= 500 or status == 429 or code == "idempotency_key_in_use":
        return OutcomeUnknown(f"sandbox answered {status} ({code}): {message}")
    if error.get("type") == "card_error":
        return ProviderDeclined(message, code=str(error.get("decline_code") or code))
    if status == 401:
        return ProviderError(message, code="authentication")
    return ProviderError(message, code=code)
