"""Postpaid account use cases: create, read, update (credit limit, status, payer, billing
e-mail), link and unlink drivers and tokens, and which account a driver or token charges.

Every function is keyword-only and takes the caller's `operator_id`: an account, driver or
token of another operator is NotFound, and nothing is changed. Functions flush, never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers.domain import Email
from evbilling.drivers.repository import DriverRepository, TokenRepository
from evbilling.infra.db.repository import OffsetPage, PageRequest
from evbilling.infra.db.updates import UNSET, Rules, Unset, update_fields, validate_fields
from evbilling.infra.validation import (
    MAX_NAME_LENGTH,
    check_page,
    currency,
    member,
    optional_member,
    price,
    required_text,
    value_or_none,
)
from evbilling.kit.errors import InvalidRequest, NotFound
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.models import PostpaidAccount
from evbilling.money import InvalidAmount, Money
from evbilling.postpaid.committed import committed
from evbilling.postpaid.domain import (
    MAX_CREDIT_LIMIT,
    AccountClosed,
    AccountNotFound,
    AccountStatus,
)
from evbilling.postpaid.repository import AccountRepository


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account as the edges show it, with what it owes and may still spend."""

    id: int
    name: str
    currency: str
    credit_limit_minor: int
    status: str
    payer_driver_id: int | None
    billing_email: str | None
    outstanding_minor: int
    exposure_minor: int
    available_minor: int
    created_at: datetime
    updated_at: datetime


def limit_minor(value: object, *, currency_code: str, field: str = "credit_limit") -> int:
    """A credit limit given in currency units ("5000.00"): exact to the minor unit, 0 up to
    MAX_CREDIT_LIMIT."""
    if isinstance(value, Money):
        if value.currency != currency_code:
            raise InvalidRequest(
                f"the limit is in {value.currency}, the account in {currency_code}", field=field
            )
        value = value.amount
    amount = price(value, field=field, maximum=MAX_CREDIT_LIMIT)
    try:
        return Money.of(amount, currency_code).minor_units()
    except InvalidAmount as exc:
        raise InvalidRequest(f"more precise than {currency_code} allows", field=field) from exc


async def _payer(db: AsyncSession, value: object, *, operator_id: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest("must be a driver id", field="payer_driver_id")
    driver = await DriverRepository(db).get(id=value, owner_id=operator_id)
    if driver is None:
        raise NotFound(kind="driver", key=value)
    return value


def _rules(db: AsyncSession, *, operator_id: int, currency_code: str) -> Rules:
    return {
        "name": lambda value: required_text(value, field="name", max_length=MAX_NAME_LENGTH),
        "credit_limit_minor": lambda value: limit_minor(value, currency_code=currency_code),
        "status": lambda value: member(value, AccountStatus, field="status"),
        "payer_driver_id": lambda value: _payer(db, value, operator_id=operator_id),
        "billing_email": lambda value: value_or_none(Email, value, field="billing_email"),
    }


async def create_account(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    currency: str,
    credit_limit: Money | Any,
    now: datetime,
    payer_driver_id: int | None = None,
    billing_email: str | None = None,
) -> PostpaidAccount:
    code = _currency(currency)
    values = await validate_fields(
        {
            "name": name,
            "credit_limit_minor": credit_limit,
            "payer_driver_id": payer_driver_id,
            "billing_email": billing_email,
        },
        _rules(db, operator_id=operator_id, currency_code=code),
    )
    accounts = AccountRepository(db)
    row = accounts.add(
        PostpaidAccount(
            **values,
            operator_id=operator_id,
            currency=code,
            status=AccountStatus.ACTIVE.value,
            created_at=now,
            updated_at=now,
        )
    )
    await accounts.flush()
    return row


def _currency(value: object) -> str:
    return currency(value)


async def get_account(*, db: AsyncSession, operator_id: int, account_id: int) -> PostpaidAccount:
    row = await AccountRepository(db).get(id=account_id, owner_id=operator_id)
    if row is None:
        raise AccountNotFound(account_id)
    return row


async def view_account(
    *, db: AsyncSession, operator_id: int, account_id: int, now: datetime
) -> AccountView:
    row = await get_account(db=db, operator_id=operator_id, account_id=account_id)
    return await view_of(db=db, row=row, now=now)


async def view_of(*, db: AsyncSession, row: PostpaidAccount, now: datetime) -> AccountView:
    """The account with what it owes, what its credit is committed to now (`committed.py`,
    as the credit decision counts it) and the credit left."""
    outstanding = await outstanding_minor(db=db, account=row)
    exposure = (await committed(db=db, account=row, now=now)).total_minor
    return AccountView(
        id=row.id,
        name=row.name,
        currency=row.currency,
        credit_limit_minor=row.credit_limit_minor,
        status=row.status,
        payer_driver_id=row.payer_driver_id,
        billing_email=row.billing_email,
        outstanding_minor=outstanding,
        exposure_minor=exposure,
        available_minor=max(row.credit_limit_minor - outstanding - exposure, 0),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def outstanding_minor(*, db: AsyncSession, account: PostpaidAccount) -> int:
    """What the account owes: its receivable's posted balance (negative: paid ahead)."""
    ref = AccountRef.postpaid_receivable(account_id=account.id, currency=account.currency)
    return (await ledger.account_balance(db=db, account=ref)).balance_minor


async def list_accounts(
    *,
    db: AsyncSession,
    operator_id: int,
    now: datetime,
    status: str | None = None,
    page: PageRequest = PageRequest(),
) -> OffsetPage[AccountView]:
    check_page(page)
    found = await AccountRepository(db).list(
        operator_id=operator_id,
        status=optional_member(status, AccountStatus, field="status"),
        limit=page.limit,
        offset=page.offset,
    )
    views = [await view_of(db=db, row=row, now=now) for row in found.rows]
    return OffsetPage(rows=views, total=found.total, limit=found.limit, offset=found.offset)


async def update_account(
    *,
    db: AsyncSession,
    operator_id: int,
    account_id: int,
    now: datetime,
    name: str | Unset = UNSET,
    credit_limit: Money | Any | Unset = UNSET,
    status: str | Unset = UNSET,
    payer_driver_id: int | Unset | None = UNSET,
    billing_email: str | Unset | None = UNSET,
) -> PostpaidAccount:
    """A closed account stays closed (its receivable is still collected)."""
    accounts = AccountRepository(db)
    row = await accounts.get_for_update(id=account_id, owner_id=operator_id)
    if row is None:
        raise AccountNotFound(account_id)
    if row.status == AccountStatus.CLOSED.value and status not in (UNSET, "closed"):
        raise AccountClosed(f"postpaid account {account_id} is closed")
    given: dict[str, object] = {
        "name": name,
        "credit_limit_minor": credit_limit,
        "status": status,
        "payer_driver_id": payer_driver_id,
        "billing_email": billing_email,
    }
    rules = _rules(db, operator_id=operator_id, currency_code=row.currency)
    if await update_fields(row, given=given, rules=rules, now=now):
        await accounts.flush()
    return row


# ---------------------------------------------------------------------------------------------
# Drivers and tokens of an account


async def _open_account(db: AsyncSession, *, operator_id: int, account_id: int) -> PostpaidAccount:
    row = await get_account(db=db, operator_id=operator_id, account_id=account_id)
    if row.status == AccountStatus.CLOSED.value:
        raise AccountClosed(f"postpaid account {account_id} is closed")
    return row


async def link_driver(
    *, db: AsyncSession, operator_id: int, account_id: int, driver_id: int, now: datetime
) -> None:
    await _open_account(db, operator_id=operator_id, account_id=account_id)
    driver = await DriverRepository(db).get_owned_for_update(id=driver_id, owner_id=operator_id)
    if driver.postpaid_account_id != account_id:
        driver.postpaid_account_id = account_id
        driver.updated_at = now
        await db.flush()


async def unlink_driver(
    *, db: AsyncSession, operator_id: int, account_id: int, driver_id: int, now: datetime
) -> None:
    await get_account(db=db, operator_id=operator_id, account_id=account_id)
    driver = await DriverRepository(db).get_owned_for_update(id=driver_id, owner_id=operator_id)
    if driver.postpaid_account_id != account_id:
        raise NotFound(kind="driver of the account", key=driver_id)
    driver.postpaid_account_id = None
    driver.updated_at = now
    await db.flush()


async def link_token(
    *, db: AsyncSession, operator_id: int, account_id: int, token_id: int, now: datetime
) -> None:
    await _open_account(db, operator_id=operator_id, account_id=account_id)
    token = await TokenRepository(db).get_owned_for_update(id=token_id, owner_id=operator_id)
    if token.postpaid_account_id != account_id:
        token.postpaid_account_id = account_id
        token.updated_at = now
        await db.flush()


async def unlink_token(
    *, db: AsyncSession, operator_id: int, account_id: int, token_id: int, now: datetime
) -> None:
    await get_account(db=db, operator_id=operator_id, account_id=account_id)
    token = await TokenRepository(db).get_owned_for_update(id=token_id, owner_id=operator_id)
    if token.postpaid_account_id != account_id:
        raise NotFound(kind="token of the account", key=token_id)
    token.postpaid_account_id = None
    token.updated_at = now
    await db.flush()


async def account_for(
    *, db: AsyncSession, operator_id: int, driver_id: int | None, token_id: int | None
) -> int | None:
    """The account a session of this token or driver is charged to: the token's own (a
    fleet card) first, then the driver's; None when neither has one that is not closed."""
    candidates: list[int | None] = []
    if token_id is not None:
        token = await TokenRepository(db).get(id=token_id, owner_id=operator_id)
        candidates.append(token.postpaid_account_id if token is not None else None)
    if driver_id is not None:
        driver = await DriverRepository(db).get(id=driver_id, owner_id=operator_id)
        candidates.append(driver.postpaid_account_id if driver is not None else None)
    for account_id in candidates:
        if account_id is None:
            continue
        row = await AccountRepository(db).get(id=account_id, owner_id=operator_id)
        if row is not None and row.status != AccountStatus.CLOSED.value:
            return row.id
    return None
