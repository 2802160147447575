"""Request and read models of the payment method choice (docs/payment-choice.md)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from evbilling.drivers.domain import PaymentPreference
from evbilling.infra.http.schemas import Input, Output
from evbilling.payments.choice_rules import UnlinkedPolicy

_CURRENCY = Field(default=None, pattern=r"^[A-Z]{3}$", examples=["EUR"])


class PaymentPolicyUpdate(Input):
    unlinked: UnlinkedPolicy = Field(
        description="What a token linked to no driver and no postpaid account may do."
    )
    fee_amount: Decimal | None = Field(
        default=None,
        gt=0,
        le=1000,
        max_digits=12,
        description="The fixed fee incl. VAT, in currency units (e.g. 2.00).",
    )
    fee_currency: str | None = _CURRENCY


class PaymentPolicyRead(Output):
    unlinked: UnlinkedPolicy
    fee_amount: Decimal | None
    fee_currency: str | None


class PaymentPreferenceUpdate(Input):
    preference: PaymentPreference | None = Field(
        description=(
            "card, wallet or postpaid; null: a postpaid account when linked, else the wallet "
            "with a balance, else the saved card."
        )
    )


class PaymentPreferenceRead(Output):
    preference: PaymentPreference | None
