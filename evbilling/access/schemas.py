"""What the access edges show: API keys (the key itself only once, when it is issued; never
its digest) and operators."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from evbilling.access.domain import Scope, decode_scopes
from evbilling.infra.http.schemas import Input, Output, PageRead
from evbilling.infra.validation import MAX_NAME_LENGTH


class ApiKeyCreate(Input):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="What it is for.")
    scopes: list[Scope] = Field(
        default_factory=list,
        max_length=len(Scope),
        description="Scopes beyond the everyday routes (at most the caller's own).",
    )


def _scopes(value: object) -> object:
    if isinstance(value, str):
        return sorted(decode_scopes(value))
    return value


class ApiKeyRead(Output):
    id: int
    name: str
    prefix: str = Field(description="Public: the key reads evb_<prefix>_<secret>.")
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="Last successful use, to within a few minutes."
    )
    revoked_at: datetime | None
    scopes: list[str] = Field(default_factory=list)

    @field_validator("scopes", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _scopes(value)


class ApiKeyIssuedRead(Output):
    id: int
    name: str
    operator_id: int
    prefix: str
    created_at: datetime
    key: str = Field(description="Shown once; only its HMAC-SHA256 digest is stored.")
    scopes: list[str] = Field(default_factory=list)


class ApiKeyList(PageRead[ApiKeyRead]):
    pass


class OperatorRead(Output):
    id: int
    name: str
    created_at: datetime
    active_api_keys: int


class OperatorList(PageRead[OperatorRead]):
    pass


class OperatorCreatedRead(Output):
    id: int
    name: str
    created_at: datetime
    api_key: ApiKeyIssuedRead
