"""Request and read models of the account routes. Every field is bounded; e-mail addresses
and passwords are checked again by the account rules (drivers.account_domain)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from evbilling.drivers.account_domain import MAX_LINK_TOKEN_LENGTH
from evbilling.infra.http.schemas import Input, Output
from evbilling.infra.validation import MAX_NAME_LENGTH

# Characters; the byte rule (1024 bytes of UTF-8) is checked by the account rules.
MAX_PASSWORD_FIELD = 1024
MAX_EMAIL_FIELD = 320
MAX_TOKEN_FIELD = 200


class SignUpRequest(Input):
    operator_id: int = Field(ge=1, description="The operator whose driver the account is.")
    email: str = Field(max_length=MAX_EMAIL_FIELD)
    password: str = Field(max_length=MAX_PASSWORD_FIELD)
    name: str = Field(max_length=MAX_NAME_LENGTH)


class AcceptedRead(Output):
    status: str = "accepted"
    detail: str


class VerifyEmailRequest(Input):
    token: str = Field(max_length=MAX_LINK_TOKEN_LENGTH)


class VerifiedRead(Output):
    verified: bool


class LoginRequest(Input):
    email: str = Field(max_length=MAX_EMAIL_FIELD)
    password: str = Field(max_length=MAX_PASSWORD_FIELD)


class TokenRead(Output):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds the access token is valid.")


class RefreshRequest(Input):
    refresh_token: str = Field(max_length=MAX_TOKEN_FIELD)


class PasswordChangeRequest(Input):
    current_password: str = Field(max_length=MAX_PASSWORD_FIELD)
    new_password: str = Field(max_length=MAX_PASSWORD_FIELD)


class PasswordResetRequest(Input):
    email: str = Field(max_length=MAX_EMAIL_FIELD)


class PasswordResetConfirm(Input):
    token: str = Field(max_length=MAX_LINK_TOKEN_LENGTH)
    password: str = Field(max_length=MAX_PASSWORD_FIELD)


class MeRead(Output):
    driver_id: int
    account_id: int
    operator_id: int
    email: str
    name: str
    verified: bool = Field(description="E-mail verified: required to start charging.")
    email_verified_at: datetime | None
    created_at: datetime
