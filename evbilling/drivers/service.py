"""Driver, driver group (fleet) and token use cases.

Every function is keyword-only, takes the caller's `operator_id` and treats an object of
another operator exactly like a missing one (NotFound); a tariff, group or driver of another
operator named in a request is InvalidRequest on that field. Functions flush but never
commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers.domain import Email, IdTag, PaymentPreference, TokenStatus, TokenType
from evbilling.drivers.repository import DriverGroupRepository, DriverRepository, TokenRepository
from evbilling.infra.db.repository import DuplicateRow, OffsetPage, PageRequest, apply_changes
from evbilling.infra.db.updates import (
    UNSET,
    Rules,
    Unset,
    check_reference,
    update_fields,
    validate_fields,
)
from evbilling.infra.validation import (
    MAX_NAME_LENGTH,
    aware_datetime,
    check_page,
    member,
    optional_member,
    required_text,
    value_or_none,
)
from evbilling.kit.errors import Conflict, InvalidRequest
from evbilling.models import Driver, DriverGroup, Token
from evbilling.tariffs.service import check_tariff


def _name(value: object) -> str:
    return required_text(value, field="name", max_length=MAX_NAME_LENGTH)


def _driver_rules(db: AsyncSession, *, operator_id: int) -> Rules:
    return {
        "name": _name,
        "email": lambda value: value_or_none(Email, value, field="email"),
        "tariff_id": lambda value: check_tariff(db, operator_id=operator_id, tariff_id=value),
        "group_id": lambda value: check_reference(
            DriverGroupRepository(db),
            value,
            owner_id=operator_id,
            field="group_id",
            kind="driver group",
        ),
        "payment_preference": _preference,
    }


def _preference(value: object) -> str | None:
    if value is None:
        return None
    try:
        return PaymentPreference(str(value)).value
    except ValueError as exc:
        choices = ", ".join(p.value for p in PaymentPreference)
        raise InvalidRequest(f"must be one of {choices}", field="payment_preference") from exc


def _group_rules(db: AsyncSession, *, operator_id: int) -> Rules:
    return {
        "name": _name,
        "tariff_id": lambda value: check_tariff(db, operator_id=operator_id, tariff_id=value),
    }


def _token_rules(db: AsyncSession, *, operator_id: int) -> Rules:
    return {
        "uid": lambda value: IdTag.parse(value, field="uid"),
        "type": lambda value: member(value, TokenType, field="type"),
        "status": lambda value: member(value, TokenStatus, field="status"),
        "expires_at": lambda value: aware_datetime(value, field="expires_at"),
        "parent_id_tag": lambda value: value_or_none(IdTag, value, field="parent_id_tag"),
        "driver_id": lambda value: check_reference(
            DriverRepository(db), value, owner_id=operator_id, field="driver_id", kind="driver"
        ),
    }


async def _check_uid_free(
    tokens: TokenRepository, *, operator_id: int, uid: object, token_id: int | None
) -> None:
    """A UID is unique per operator; `token_id` is the token that may keep its own."""
    other = await tokens.by_uid(operator_id=operator_id, uid=str(uid))
    if other is not None and other.id != token_id:
        raise Conflict(f"token {uid} already exists")


# ---------------------------------------------------------------------------------------------
# Drivers


async def create_driver(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    now: datetime,
    email: str | None = None,
    tariff_id: int | None = None,
    group_id: int | None = None,
) -> Driver:
    values = await validate_fields(
        {"name": name, "email": email, "tariff_id": tariff_id, "group_id": group_id},
        _driver_rules(db, operator_id=operator_id),
    )
    drivers = DriverRepository(db)
    row = drivers.add(Driver(**values, operator_id=operator_id, created_at=now, updated_at=now))
    await drivers.flush()
    return row


async def get_driver(*, db: AsyncSession, operator_id: int, driver_id: int) -> Driver:
    row = await DriverRepository(db).get_owned(id=driver_id, owner_id=operator_id)
    return row


async def list_drivers(
    *, db: AsyncSession, operator_id: int, page: PageRequest = PageRequest()
) -> OffsetPage[Driver]:
    check_page(page)
    return await DriverRepository(db).list(
        operator_id=operator_id, limit=page.limit, offset=page.offset
    )


async def update_driver(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int,
    now: datetime,
    name: str | Unset = UNSET,
    email: str | Unset | None = UNSET,
    tariff_id: int | Unset | None = UNSET,
    group_id: int | Unset | None = UNSET,
    payment_preference: str | Unset | None = UNSET,
) -> Driver:
    drivers = DriverRepository(db)
    row = await drivers.get_owned_for_update(id=driver_id, owner_id=operator_id)
    given: dict[str, object] = {
        "name": name,
        "email": email,
        "tariff_id": tariff_id,
        "group_id": group_id,
        "payment_preference": payment_preference,
    }
    rules = _driver_rules(db, operator_id=operator_id)
    if await update_fields(row, given=given, rules=rules, now=now):
        await drivers.flush()
    return row


# ---------------------------------------------------------------------------------------------
# Driver groups (fleets)


async def create_driver_group(
    *,
    db: AsyncSession,
    operator_id: int,
    name: str,
    now: datetime,
    tariff_id: int | None = None,
) -> DriverGroup:
    """A group of drivers (a fleet); its tariff prices its drivers' charges unless a driver
    has a tariff of their own."""
    values = await validate_fields(
        {"name": name, "tariff_id": tariff_id}, _group_rules(db, operator_id=operator_id)
    )
    groups = DriverGroupRepository(db)
    row = groups.add(DriverGroup(**values, operator_id=operator_id, created_at=now, updated_at=now))
    await groups.flush()
    return row


async def get_driver_group(*, db: AsyncSession, operator_id: int, group_id: int) -> DriverGroup:
    row = await DriverGroupRepository(db).get_owned(id=group_id, owner_id=operator_id)
    return row


async def list_driver_groups(
    *, db: AsyncSession, operator_id: int, page: PageRequest = PageRequest()
) -> OffsetPage[DriverGroup]:
    check_page(page)
    return await DriverGroupRepository(db).list(
        operator_id=operator_id, limit=page.limit, offset=page.offset
    )


async def update_driver_group(
    *,
    db: AsyncSession,
    operator_id: int,
    group_id: int,
    now: datetime,
    name: str | Unset = UNSET,
    tariff_id: int | Unset | None = UNSET,
) -> DriverGroup:
    groups = DriverGroupRepository(db)
    row = await groups.get_owned_for_update(id=group_id, owner_id=operator_id)
    given: dict[str, object] = {"name": name, "tariff_id": tariff_id}
    if await update_fields(
        row, given=given, rules=_group_rules(db, operator_id=operator_id), now=now
    ):
        await groups.flush()
    return row


# ---------------------------------------------------------------------------------------------
# Tokens


async def create_token(
    *,
    db: AsyncSession,
    operator_id: int,
    uid: str,
    now: datetime,
    type: TokenType = TokenType.RFID,
    status: TokenStatus = TokenStatus.ACTIVE,
    driver_id: int | None = None,
    expires_at: datetime | None = None,
    parent_id_tag: str | None = None,
) -> Token:
    """Register an idTag; UIDs are stored upper-case and unique per operator."""
    values = await validate_fields(
        {
            "uid": uid,
            "type": type,
            "status": status,
            "expires_at": expires_at,
            "parent_id_tag": parent_id_tag,
            "driver_id": driver_id,
        },
        _token_rules(db, operator_id=operator_id),
    )
    tokens = TokenRepository(db)
    await _check_uid_free(tokens, operator_id=operator_id, uid=values["uid"], token_id=None)
    try:
        row = tokens.add(Token(**values, operator_id=operator_id, created_at=now, updated_at=now))
        await tokens.flush()
    except DuplicateRow as exc:
        raise Conflict(f"token {values['uid']} already exists") from exc
    return row


async def get_token(*, db: AsyncSession, operator_id: int, token_id: int) -> Token:
    row = await TokenRepository(db).get_owned(id=token_id, owner_id=operator_id)
    return row


async def list_tokens(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int | None = None,
    status: TokenStatus | None = None,
    uid: str | None = None,
    page: PageRequest = PageRequest(),
) -> OffsetPage[Token]:
    check_page(page)
    return await TokenRepository(db).list(
        operator_id=operator_id,
        driver_id=driver_id,
        status=optional_member(status, TokenStatus, field="status"),
        # Filter with the stored form, so "04a2b3c4" finds 04A2B3C4.
        uid=None if uid is None else IdTag.normalize(uid),
        limit=page.limit,
        offset=page.offset,
    )


async def update_token(
    *,
    db: AsyncSession,
    operator_id: int,
    token_id: int,
    now: datetime,
    uid: str | Unset = UNSET,
    type: TokenType | Unset = UNSET,
    status: TokenStatus | Unset = UNSET,
    driver_id: int | Unset | None = UNSET,
    expires_at: datetime | Unset | None = UNSET,
    parent_id_tag: str | Unset | None = UNSET,
) -> Token:
    tokens = TokenRepository(db)
    row = await tokens.get_owned_for_update(id=token_id, owner_id=operator_id)
    given: dict[str, object] = {
        "uid": uid,
        "type": type,
        "status": status,
        "driver_id": driver_id,
        "expires_at": expires_at,
        "parent_id_tag": parent_id_tag,
    }
    changes = await validate_fields(given, _token_rules(db, operator_id=operator_id))
    if "uid" in changes:
        await _check_uid_free(tokens, operator_id=operator_id, uid=changes["uid"], token_id=row.id)
    if apply_changes(row, changes):
        row.updated_at = now
        try:
            await tokens.flush()
        except DuplicateRow as exc:
            raise Conflict(f"token {row.uid} already exists") from exc
    return row
