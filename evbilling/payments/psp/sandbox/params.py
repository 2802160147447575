"""The sandbox API's request bodies (JSON): unknown fields are refused."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from evbilling.money import InvalidCurrency, validate_currency


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerParams(Params):
    reference: str = Field(min_length=1, max_length=120)
    email: str | None = Field(default=None, max_length=320)


class SetupParams(Params):
    customer: str = Field(min_length=1, max_length=32)
    return_url: str = Field(min_length=1, max_length=2000)


class AuthorizationParams(Params):
    reference: str = Field(min_length=1, max_length=120)
    customer: str = Field(min_length=1, max_length=32)
    payment_method: str = Field(min_length=1, max_length=32)
    currency: str
    amount: StrictInt
    off_session: StrictBool = False
    statement_descriptor: str | None = Field(default=None, max_length=22)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        try:
            return validate_currency(value)
        except InvalidCurrency as exc:
            raise ValueError(str(exc)) from exc


class AmountParams(Params):
    amount: StrictInt


class EmptyParams(Params):
    pass


class RefundParams(Params):
    reference: str = Field(min_length=1, max_length=120)
    authorization: str = Field(min_length=1, max_length=32)
    amount: StrictInt
