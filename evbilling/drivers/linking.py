"""Linking RFID cards to drivers' app accounts with a one-time code (docs/app-api.md).

The first use at a station of a card that is unknown, or known but linked to no driver,
issues a code (`offer_link_code`): LINK_CODE_DIGITS digits, valid LINK_CODE_TTL and
MAX_LINK_ATTEMPTS tries, stored only as a salted digest. The station shows it on its display;
the driver enters it in the app with the card's UID (`link_card`), which proves they hold the
card. A card linked to another driver is never taken over; an unlinked card is blocked.
Functions flush but never commit: a refused code still counts its attempt, so the caller
commits the outcome before it reports the refusal.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers import service as drivers
from evbilling.drivers.domain import IdTag, TokenStatus, TokenType
from evbilling.drivers.repository import TokenRepository
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.models import RfidLinkCode, Token

LINK_CODE_DIGITS = 8
LINK_CODE_TTL = timedelta(minutes=15)
MAX_LINK_ATTEMPTS = 5


class LinkCodeRefused(InvalidRequest):
    """The code is wrong, expired, spent or out of attempts (never told apart), or no code
    was issued for that card."""

    def __init__(self) -> None:
        super().__init__(
            "the code does not match a current code for this card: use the card at a "
            "station to get a new one",
            field="code",
        )


class CardOfAnotherDriver(Conflict):
    """The card is linked to another driver's account; it cannot be taken over."""


@dataclass(frozen=True, slots=True)
class IssuedCode:
    uid: str
    code: str  # shown once, on the station's display; never stored
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LinkResult:
    """A linked card, or why the code was refused (the attempt is counted either way)."""

    token: Token | None
    refused: bool = False


def _digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _new_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(LINK_CODE_DIGITS))


def normalized_code(code: str) -> str:
    """What the driver typed, without the blanks a display groups digits with."""
    digits = code.replace(" ", "").replace("-", "")
    if len(code) > 32 or not digits.isascii() or not digits.isdigit():
        raise InvalidRequest(f"must be {LINK_CODE_DIGITS} digits", field="code")
    return digits


async def _live_code(
    db: AsyncSession, *, operator_id: int, uid: str, now: datetime, lock: bool = False
) -> RfidLinkCode | None:
    statement = (
        select(RfidLinkCode)
        .where(
            RfidLinkCode.operator_id == operator_id,
            RfidLinkCode.uid == uid,
            RfidLinkCode.used_at.is_(None),
            RfidLinkCode.expires_at > now,
            RfidLinkCode.attempts < RfidLinkCode.max_attempts,
        )
        .order_by(RfidLinkCode.id.desc())
        .limit(1)
    )
    if lock:
        statement = statement.with_for_update()
    row: RfidLinkCode | None = (await db.execute(statement)).scalar_one_or_none()
    return row


async def offer_link_code(
    *, db: AsyncSession, operator_id: int, station_id: int | None, uid: str, now: datetime
) -> IssuedCode | None:
    """A new code for a card used at a station, when it is unknown or an active RFID card
    linked to nobody and has no live code yet; None otherwise (linked, blocked, an app or
    ad-hoc token, or a code already running)."""
    stored = IdTag.normalize(uid)
    if not IdTag.PATTERN.fullmatch(stored):
        return None
    token = await TokenRepository(db).by_uid(operator_id=operator_id, uid=stored)
    if token is not None and (
        token.driver_id is not None
        or token.status != TokenStatus.ACTIVE.value
        or token.type != TokenType.RFID.value
    ):
        return None
    if await _live_code(db, operator_id=operator_id, uid=stored, now=now) is not None:
        return None
    code, salt = _new_code(), secrets.token_hex(16)
    row = RfidLinkCode(
        operator_id=operator_id,
        uid=stored,
        station_id=station_id,
        salt=salt,
        code_digest=_digest(salt, code),
        attempts=0,
        max_attempts=MAX_LINK_ATTEMPTS,
        expires_at=now + LINK_CODE_TTL,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    return IssuedCode(uid=stored, code=code, expires_at=row.expires_at)


async def link_card(
    *, db: AsyncSession, operator_id: int, driver_id: int, uid: str, code: str, now: datetime
) -> LinkResult:
    """Link the card to the driver when `code` is the card's live code (spent by it). A wrong
    code counts an attempt and is `refused`; a card of another driver is CardOfAnotherDriver."""
    stored = str(IdTag.parse(uid, field="uid"))
    typed = normalized_code(code)
    await drivers.get_driver(db=db, operator_id=operator_id, driver_id=driver_id)
    live = await _live_code(db, operator_id=operator_id, uid=stored, now=now, lock=True)
    if live is None:
        return LinkResult(token=None, refused=True)
    if not hmac.compare_digest(live.code_digest, _digest(live.salt, typed)):
        # One guarded UPDATE: concurrent wrong tries all count.
        await db.execute(
            update(RfidLinkCode)
            .where(RfidLinkCode.id == live.id)
            .values(attempts=RfidLinkCode.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return LinkResult(token=None, refused=True)
    live.used_at = now
    tokens = TokenRepository(db)
    token = await tokens.by_uid(operator_id=operator_id, uid=stored)
    if token is None:
        token = await drivers.create_token(
            db=db, operator_id=operator_id, uid=stored, driver_id=driver_id, now=now
        )
        return LinkResult(token=token)
    if token.driver_id is not None and token.driver_id != driver_id:
        await db.flush()
        raise CardOfAnotherDriver(f"card {stored} is linked to another account")
    if token.status != TokenStatus.ACTIVE.value or token.type != TokenType.RFID.value:
        return LinkResult(token=None, refused=True)
    token.driver_id = driver_id
    token.updated_at = now
    await db.flush()
    return LinkResult(token=token)


async def list_cards(*, db: AsyncSession, operator_id: int, driver_id: int) -> Sequence[Token]:
    """The driver's RFID cards, oldest first."""
    result = await db.execute(
        select(Token)
        .where(
            Token.operator_id == operator_id,
            Token.driver_id == driver_id,
            Token.type == TokenType.RFID.value,
        )
        .order_by(Token.id)
    )
    return result.scalars().all()


async def unlink_card(
    *, db: AsyncSession, operator_id: int, driver_id: int, token_id: int, now: datetime
) -> Token:
    """The card no longer belongs to the driver and is blocked (a lost card charges nobody's
    account); another driver's card, or a token that is not an RFID card, is NotFound."""
    token = await TokenRepository(db).get_for_update(id=token_id, owner_id=operator_id)
    if token is None or token.driver_id != driver_id or token.type != TokenType.RFID.value:
        raise NotFound(kind="RFID card", key=token_id)
    token.driver_id = None
    token.status = TokenStatus.BLOCKED.value
    token.updated_at = now
    await db.flush()
    return token


async def ensure_app_token(
    *, db: AsyncSession, operator_id: int, driver_id: int, now: datetime
) -> Token:
    """The driver's app token (TokenType.APP), created on first use: the idTag remote starts
    from the app carry."""
    existing = (
        await db.execute(
            select(Token)
            .where(
                Token.operator_id == operator_id,
                Token.driver_id == driver_id,
                Token.type == TokenType.APP.value,
                Token.status == TokenStatus.ACTIVE.value,
            )
            .order_by(Token.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    uid = "APP" + secrets.token_hex(8).upper()[:17]
    return await drivers.create_token(
        db=db, operator_id=operator_id, uid=uid, type=TokenType.APP, driver_id=driver_id, now=now
    )
