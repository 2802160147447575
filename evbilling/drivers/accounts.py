"""Driver accounts: sign-up, e-mail verification, the database steps of log-in, password
change and reset, closure (docs/app-api.md).

Keyword-only, `db` and `now`, flush and never commit, like every service. argon2 is never run
here: the edge hashes and verifies passwords before or after these calls, outside any
transaction (`infra.secrets.hash_secret_async`), and hands over the hash.

One-time links (verification, reset) are 256 random bits mailed to the account; only their
HMAC digest is stored, they work once and expire. Nothing here tells whether an address has
an account: a sign-up with a taken address and a reset for an unknown one answer the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.app_tokens import revoke_account_tokens
from evbilling.access.service import check_operator
from evbilling.drivers.account_domain import (
    InvalidLink,
    LinkPurpose,
    checked_link_token,
    closed_email,
    login_email,
    new_link_token,
)
from evbilling.drivers.account_repository import DriverAccountRepository
from evbilling.drivers.repository import DriverRepository
from evbilling.drivers.service import create_driver
from evbilling.infra.db.repository import DuplicateRow
from evbilling.infra.mail import enqueue_mail
from evbilling.infra.secrets import ApiKeyHasher
from evbilling.kit import NotFound
from evbilling.kit.errors import Conflict, InvalidRequest
from evbilling.models import AccountLink, DriverAccount

CLOSED_PASSWORD = "!closed"  # no argon2 hash: nothing verifies against it
# At most one reset (or verification) mail per account this often: no way to flood a mailbox.
RESET_MAIL_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class StoredLogin:
    """What log-in needs of an account, read in a short transaction."""

    account_id: int
    password_hash: str


@dataclass(frozen=True, slots=True)
class AccountView:
    account_id: int
    driver_id: int
    operator_id: int
    email: str
    name: str
    verified: bool
    email_verified_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Links:
    """Where mailed links point: the app API's public base URL (`.../api/app/v1`)."""

    base_url: str

    def verify(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/verify-email?token={token}"

    def reset(self, token: str) -> str:
        return f"{self.base_url.rstrip('/')}/password-reset/confirm?token={token}"


async def sign_up(
    *,
    db: AsyncSession,
    hasher: ApiKeyHasher,
    operator_id: int,
    email: str,
    name: str,
    password_hash: str,
    links: Links,
    now: datetime,
) -> int | None:
    """A driver of the operator with an unverified account, and a verification link mailed.
    An address that already has an account gets a mail saying so (and nothing else changes);
    None then, the new account's id otherwise."""
    address = login_email(email)
    try:
        await check_operator(db=db, operator_id=operator_id)
    except NotFound as exc:
        raise InvalidRequest("no such operator", field="operator_id") from exc
    accounts = DriverAccountRepository(db)
    taken = await accounts.by_email(address)
    if taken is not None:
        await enqueue_mail(
            db=db,
            to=address,
            subject="You already have an account",
            body_text=(
                "Someone (perhaps you) tried to sign up with this e-mail address, which "
                "already has an account. Log in instead, or reset your password if you "
                "forgot it.\n"
            ),
            now=now,
            # At most one such mail an hour: sign-ups are no way to flood a mailbox.
            dedupe_key=f"signup-taken:{taken.id}:{now:%Y-%m-%dT%H}",
        )
        return None
    driver = await create_driver(db=db, operator_id=operator_id, name=name, email=address, now=now)
    account = accounts.add(
        DriverAccount(
            operator_id=operator_id,
            driver_id=driver.id,
            email=address,
            password_hash=password_hash,
            created_at=now,
            updated_at=now,
        )
    )
    try:
        await accounts.flush()
    except DuplicateRow as exc:  # a concurrent sign-up with the same address won
        raise Conflict("this sign-up could not be completed; try again") from exc
    await send_verification(db=db, hasher=hasher, account=account, links=links, now=now)
    return account.id


async def open_verified_account(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int,
    email: str,
    password_hash: str,
    now: datetime,
) -> int:
    """An app account, already verified, for an existing driver of the operator (the
    operator vouches for the address, as the demo does for its driver); its id. Conflict
    when the address or the driver has an account already."""
    address = login_email(email)
    await DriverRepository(db).get_owned(id=driver_id, owner_id=operator_id)
    accounts = DriverAccountRepository(db)
    if await accounts.by_email(address) is not None:
        raise Conflict("this e-mail address has an account already")
    account = accounts.add(
        DriverAccount(
            operator_id=operator_id,
            driver_id=driver_id,
            email=address,
            password_hash=password_hash,
            email_verified_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    try:
        await accounts.flush()
    except DuplicateRow as exc:  # the driver has one (one account per driver)
        raise Conflict(f"driver {driver_id} has an account already") from exc
    return account.id


async def send_verification(
    *,
    db: AsyncSession,
    hasher: ApiKeyHasher,
    account: DriverAccount,
    links: Links,
    now: datetime,
) -> None:
    """A new verification link (older ones stop working), mailed to the account."""
    token = await _new_link(
        db=db, hasher=hasher, account=account, purpose=LinkPurpose.VERIFY, now=now
    )
    await enqueue_mail(
        db=db,
        to=account.email,
        subject="Confirm your e-mail address",
        body_text=(
            "Please confirm your e-mail address by opening this link:\n\n"
            f"{links.verify(token)}\n\n"
            f"The link works once, for {_hours(LinkPurpose.VERIFY)} hours.\n"
        ),
        now=now,
    )


async def resend_verification(
    *, db: AsyncSession, hasher: ApiKeyHasher, account_id: int, links: Links, now: datetime
) -> bool:
    """Mail a new link unless the address is verified already (False then)."""
    account = await _open_account(db, account_id=account_id, for_update=True)
    if account.email_verified_at is not None:
        return False
    if await DriverAccountRepository(db).has_recent_link(
        account_id=account.id, purpose=LinkPurpose.VERIFY.value, since=now - RESET_MAIL_INTERVAL
    ):
        return True  # the link of a minute ago is on its way
    await send_verification(db=db, hasher=hasher, account=account, links=links, now=now)
    return True


async def verify_email(*, db: AsyncSession, hasher: ApiKeyHasher, token: str, now: datetime) -> int:
    """Use a verification link: the account's address is verified. Returns the account id."""
    link = await _use_link(db=db, hasher=hasher, token=token, purpose=LinkPurpose.VERIFY, now=now)
    account = await _open_account(db, account_id=link.account_id, for_update=True)
    if account.email_verified_at is None:
        account.email_verified_at = now
        account.updated_at = now
        await db.flush()
    return account.id


async def find_login(*, db: AsyncSession, email: str) -> StoredLogin | None:
    """The open account with this address (None when there is none or the text is no
    address): the edge verifies the password against its hash afterwards."""
    try:
        address = login_email(email)
    except InvalidRequest:
        return None
    account = await DriverAccountRepository(db).by_email(address)
    if account is None or account.closed_at is not None:
        return None
    return StoredLogin(account_id=account.id, password_hash=account.password_hash)


async def password_hash_of(*, db: AsyncSession, account_id: int) -> str:
    return (await _open_account(db, account_id=account_id)).password_hash


async def set_password(
    *, db: AsyncSession, account_id: int, password_hash: str, now: datetime
) -> None:
    """Replace the password (hashed by the edge) and sign out every sign-in."""
    account = await _open_account(db, account_id=account_id, for_update=True)
    account.password_hash = password_hash
    account.updated_at = now
    await db.flush()
    await revoke_account_tokens(db=db, account_id=account.id, now=now)


async def request_password_reset(
    *, db: AsyncSession, hasher: ApiKeyHasher, email: str, links: Links, now: datetime
) -> None:
    """Mail a reset link if an open account has this address; otherwise do nothing. The
    caller answers the same either way."""
    login = await find_login(db=db, email=email)
    if login is None:
        return
    account = await _open_account(db, account_id=login.account_id, for_update=True)
    if await DriverAccountRepository(db).has_recent_link(
        account_id=account.id, purpose=LinkPurpose.RESET.value, since=now - RESET_MAIL_INTERVAL
    ):
        return
    token = await _new_link(
        db=db, hasher=hasher, account=account, purpose=LinkPurpose.RESET, now=now
    )
    await enqueue_mail(
        db=db,
        to=account.email,
        subject="Reset your password",
        body_text=(
            "Someone (perhaps you) asked to reset the password of your account. To choose a "
            "new one, send this code with your new password to\n\n"
            f"{links.reset(token)}\n\n"
            f"The code works once, for {_hours(LinkPurpose.RESET)} hour(s). If you did not ask "
            "for it, ignore this mail: your password stays as it is.\n"
        ),
        now=now,
    )


async def check_reset_link(
    *, db: AsyncSession, hasher: ApiKeyHasher, token: str, now: datetime
) -> None:
    """Whether a reset link would work now (InvalidLink otherwise), changing nothing: the edge
    checks it before spending argon2 on the new password."""
    digest = hasher.digest(checked_link_token(token))
    link = await DriverAccountRepository(db).link(digest)
    _check_link(link, purpose=LinkPurpose.RESET, now=now)


async def reset_password(
    *,
    db: AsyncSession,
    hasher: ApiKeyHasher,
    token: str,
    password_hash: str,
    now: datetime,
) -> int:
    """Use a reset link: the new password (hashed by the edge) replaces the old one, every
    sign-in is signed out, and the address counts as verified (the link reached it)."""
    link = await _use_link(db=db, hasher=hasher, token=token, purpose=LinkPurpose.RESET, now=now)
    account = await _open_account(db, account_id=link.account_id, for_update=True)
    if account.email_verified_at is None:
        account.email_verified_at = now
    await set_password(db=db, account_id=account.id, password_hash=password_hash, now=now)
    return account.id


async def get_account(*, db: AsyncSession, account_id: int) -> AccountView:
    account = await _open_account(db, account_id=account_id)
    driver = await DriverRepository(db).get_owned(
        id=account.driver_id, owner_id=account.operator_id
    )
    return AccountView(
        account_id=account.id,
        driver_id=account.driver_id,
        operator_id=account.operator_id,
        email=account.email,
        name=driver.name,
        verified=account.email_verified_at is not None,
        email_verified_at=account.email_verified_at,
        created_at=account.created_at,
    )


async def close_account(*, db: AsyncSession, account_id: int, now: datetime) -> None:
    """The account's own part of a closure (app.closure runs the other slices' parts first):
    marked closed, its address and password forgotten, every sign-in signed out. The driver
    row and its history stay (sessions and payments are the operator's records)."""
    account = await _open_account(db, account_id=account_id, for_update=True)
    account.closed_at = now
    account.updated_at = now
    account.email = closed_email(account.id)
    account.password_hash = CLOSED_PASSWORD
    await db.flush()
    await revoke_account_tokens(db=db, account_id=account.id, now=now)


# ---------------------------------------------------------------------------------------------


async def _open_account(
    db: AsyncSession, *, account_id: int, for_update: bool = False
) -> DriverAccount:
    accounts = DriverAccountRepository(db)
    account = (
        await accounts.get_for_update(id=account_id)
        if for_update
        else await accounts.get(id=account_id)
    )
    if account is None or account.closed_at is not None:
        raise NotFound(kind="account", key=account_id)
    return account


async def _new_link(
    *,
    db: AsyncSession,
    hasher: ApiKeyHasher,
    account: DriverAccount,
    purpose: LinkPurpose,
    now: datetime,
) -> str:
    accounts = DriverAccountRepository(db)
    await accounts.use_links(account_id=account.id, purpose=purpose.value, now=now)
    token = new_link_token()
    await accounts.add_link(
        account_id=account.id,
        purpose=purpose.value,
        digest=hasher.digest(token),
        expires_at=now + purpose.lifetime,
        now=now,
    )
    return token


def _check_link(link: AccountLink | None, *, purpose: LinkPurpose, now: datetime) -> AccountLink:
    if link is None or link.purpose != purpose.value or link.used_at is not None:
        raise InvalidLink()
    if link.expires_at <= now:
        raise InvalidLink()
    return link


async def _use_link(
    *, db: AsyncSession, hasher: ApiKeyHasher, token: str, purpose: LinkPurpose, now: datetime
) -> AccountLink:
    digest = hasher.digest(checked_link_token(token))
    link = _check_link(
        await DriverAccountRepository(db).link_for_update(digest), purpose=purpose, now=now
    )
    link.used_at = now
    await db.flush()
    return link


def _hours(purpose: LinkPurpose) -> int:
    return int(purpose.lifetime.total_seconds() // 3600)
