"""Rules of driver accounts (the app's log-in), pure: the e-mail address as a log-in name,
the password rule, and the one-time links mailed to an account."""

from __future__ import annotations

import secrets
from datetime import timedelta
from enum import StrEnum

from evbilling.drivers.domain import Email
from evbilling.kit import EVBillingError
from evbilling.kit.errors import InvalidRequest

MIN_PASSWORD_LENGTH = 10  # characters
MAX_PASSWORD_BYTES = 1024  # UTF-8; argon2 costs nothing more, but nobody needs more
LINK_TOKEN_BYTES = 32
MAX_LINK_TOKEN_LENGTH = 100
VERIFY_LINK_LIFETIME = timedelta(hours=48)
RESET_LINK_LIFETIME = timedelta(hours=1)


class InvalidCredentials(EVBillingError):
    """Wrong e-mail address or password (which of the two is never said)."""


class WeakAppPassword(InvalidRequest):
    """A new password breaks the password rule."""


class WrongPassword(InvalidRequest):
    """The current password given to change it is not the account's."""


class InvalidLink(InvalidRequest):
    """A one-time link is unknown, used, expired, or of another purpose."""

    def __init__(self) -> None:
        super().__init__("this link is invalid, used or expired", field="token")


class LinkPurpose(StrEnum):
    VERIFY = "verify"
    RESET = "reset"

    @property
    def lifetime(self) -> timedelta:
        return VERIFY_LINK_LIFETIME if self is LinkPurpose.VERIFY else RESET_LINK_LIFETIME


def login_email(value: object, *, field: str = "email") -> str:
    """The canonical form of an e-mail address as an account name: trimmed, lower-case, and
    printable (no control characters, no NUL)."""
    email = Email.parse(value, field=field)
    if not email.isprintable():
        raise InvalidRequest(f"must be {Email.RULE}", field=field)
    return email.lower()


def throttle_key(value: object) -> str:
    """What the log-in throttle counts for a typed address: its canonical form, or (for
    text that is not an address) a bounded stand-in; never raises."""
    try:
        return login_email(value)
    except InvalidRequest:
        return "invalid:" + (value[:320] if isinstance(value, str) else "")


def check_password(password: str, *, field: str = "password") -> str:
    """A new password: at least MIN_PASSWORD_LENGTH characters, at most MAX_PASSWORD_BYTES
    bytes of UTF-8, no NUL."""
    if "\x00" in password:
        raise WeakAppPassword("must not contain NUL characters", field=field)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakAppPassword(f"must be at least {MIN_PASSWORD_LENGTH} characters", field=field)
    if len(password.encode("utf-8", "surrogatepass")) > MAX_PASSWORD_BYTES:
        raise WeakAppPassword(f"must be at most {MAX_PASSWORD_BYTES} bytes", field=field)
    return password


def password_is_checkable(password: str) -> bool:
    """Whether a password given at log-in can be verified at all (else it is simply wrong,
    without spending argon2 on it)."""
    return "\x00" not in password and len(password.encode("utf-8", "surrogatepass")) <= (
        MAX_PASSWORD_BYTES
    )


def new_link_token() -> str:
    return secrets.token_urlsafe(LINK_TOKEN_BYTES)


def checked_link_token(value: str) -> str:
    token = value.strip()
    if not token or len(token) > MAX_LINK_TOKEN_LENGTH or not token.isascii():
        raise InvalidLink()
    if not token.isprintable():
        raise InvalidLink()
    return token


def closed_email(account_id: int) -> str:
    """What a closed account's e-mail becomes: the address is free for a new account and no
    longer stored."""
    return f"closed-{account_id}@accounts.invalid"
