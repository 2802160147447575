"""Receipts of finished sessions: where and when, the energy, the priced lines, VAT per rate,
the total and how it was paid (docs/app-api.md).

A receipt exists once a session's amount is final (`completed_at`). Its public link
`/receipts/{token}` needs no account: the token is the session id with a keyed digest of it
under the server's secret (`receipt_token`), unguessable, checked in constant time, and
nothing to store; changing the secret retires every link.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.settlement import VatPortion, vat_portions
from evbilling.infra.db.repository import KeysetPage, paginate_keyset
from evbilling.infra.secrets import ApiKeyHasher
from evbilling.kit import NotFound
from evbilling.models import (
    ChargingSession,
    Evse,
    Location,
    Payment,
    PaymentMethod,
    SessionCharge,
    Station,
)
from evbilling.money import Money

RECEIPT_PATH = "/receipts"
_TOKEN_MAC_CHARS = 40
_LABELS = {
    "flat": "Start fee",
    "energy": "Energy",
    "time": "Charging time",
    "parking_time": "Parking time",
    "reservation_flat": "Reservation fee",
    "reservation_time": "Reservation time",
    "min_price": "Minimum price",
    "max_price": "Maximum price",
}


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    label: str
    quantity: Decimal
    unit: str
    vat_percent: Decimal | None
    amount_incl_vat: Money  # exact, as rated; the total is rounded once


@dataclass(frozen=True, slots=True)
class Receipt:
    session_id: int
    driver_id: int | None
    operator_id: int
    location_name: str | None
    station_identity: str
    evse_uid: str | None
    connector_id: int
    started_at: datetime
    stopped_at: datetime | None
    energy_wh: int
    currency: str
    lines: tuple[ReceiptLine, ...]
    vat: tuple[VatPortion, ...]  # per rate, highest first; sum(net + vat) == total
    total_excl_vat: Money
    total_vat: Money
    total: Money  # incl. VAT, rounded
    paid_by: str  # in words: "card VISA ending 4242", "wallet", "postpaid account", ...
    captured: Money | None  # taken from the card, when paid by card
    outstanding: Money | None  # still owed, when something is


def receipt_token(*, hasher: ApiKeyHasher, session_id: int) -> str:
    """The public receipt link's token: `{session_id}-{keyed digest}`."""
    mac = hasher.digest(f"receipt:{session_id}")[-_TOKEN_MAC_CHARS:]
    return f"{session_id}-{mac}"


def session_of_token(*, hasher: ApiKeyHasher, token: str) -> int | None:
    """The session a receipt token names, or None for a token that is not one of ours."""
    head, _, mac = token.partition("-")
    if not head.isascii() or not head.isdigit() or len(head) > 18 or len(mac) > 64:
        return None
    session_id = int(head)
    expected = receipt_token(hasher=hasher, session_id=session_id)
    return session_id if hmac.compare_digest(expected.encode(), token.encode()) else None


def receipt_path(*, hasher: ApiKeyHasher, session_id: int) -> str:
    return f"{RECEIPT_PATH}/{receipt_token(hasher=hasher, session_id=session_id)}"


def _line(line: dict[str, Any], currency: str) -> ReceiptLine:
    vat = line.get("vat_percent")
    return ReceiptLine(
        label=_LABELS.get(str(line.get("kind")), str(line.get("description") or "Charge")),
        quantity=Decimal(str(line.get("quantity", "0"))),
        unit=str(line.get("unit", "")),
        vat_percent=None if vat is None else Decimal(str(vat)),
        amount_incl_vat=Money.of(str(line["amount_incl_vat"]), currency),
    )


async def _paid_by(
    db: AsyncSession, *, session: ChargingSession, currency: str
) -> tuple[str, Money | None, Money | None]:
    charge = (
        await db.execute(select(SessionCharge).where(SessionCharge.session_id == session.id))
    ).scalar_one_or_none()
    payment = (
        await db.execute(select(Payment).where(Payment.session_id == session.id))
    ).scalar_one_or_none()
    captured = outstanding = None
    if charge is not None:
        captured = Money.from_minor_units(charge.captured_minor, currency)
        if charge.receivable_minor:
            outstanding = Money.from_minor_units(charge.receivable_minor, currency)
    if payment is not None:
        method = (
            await db.execute(
                select(PaymentMethod).where(
                    PaymentMethod.provider == payment.provider,
                    PaymentMethod.provider_method_id == payment.provider_method_id,
                )
            )
        ).scalar_one_or_none()
        words = f"card {method.brand.upper()} ending {method.last4}" if method else "card"
        return words, captured, outstanding
    kind = session.payment_kind
    words = {
        "wallet": "wallet",
        "postpaid": "postpaid account",
        "free": "free of charge",
        "fixed_fee": "fixed fee",
        "card": "card",
    }.get(kind or "", "not paid yet")
    return words, None if kind != "card" else captured, outstanding


async def _receipt_of(db: AsyncSession, *, session: ChargingSession) -> Receipt:
    station, location_name = (
        await db.execute(
            select(Station, Location.name)
            .outerjoin(Location, Location.id == Station.location_id)
            .where(Station.id == session.station_id)
        )
    ).one()
    evse_uid = (
        await db.scalar(select(Evse.uid).where(Evse.id == session.evse_id))
        if session.evse_id is not None
        else None
    )
    currency = session.currency or "EUR"
    raw_lines = list((session.cost_breakdown or {}).get("lines", []))
    portions = vat_portions(lines=raw_lines, currency=currency) if session.billable else ()
    total = Money.of(session.cost_incl_vat or 0, currency).rounded()
    net = sum((p.net for p in portions), Money.zero(currency))
    vat = sum((p.vat for p in portions), Money.zero(currency))
    if not portions:
        net = total
    paid_by, captured, outstanding = await _paid_by(db, session=session, currency=currency)
    return Receipt(
        session_id=session.id,
        driver_id=session.driver_id,
        operator_id=session.operator_id,
        location_name=location_name,
        station_identity=station.identity,
        evse_uid=evse_uid,
        connector_id=session.connector_id,
        started_at=session.started_at,
        stopped_at=session.stopped_at,
        energy_wh=session.energy_wh or 0,
        currency=currency,
        lines=tuple(_line(line, currency) for line in raw_lines),
        vat=portions,
        total_excl_vat=net,
        total_vat=vat,
        total=total,
        paid_by=paid_by,
        captured=captured,
        outstanding=outstanding,
    )


def _final() -> Any:
    return ChargingSession.completed_at.is_not(None)


async def get_receipt(*, db: AsyncSession, session_id: int) -> Receipt:
    """The receipt of a session whose amount is final; NotFound before (or for no session)."""
    session = (
        await db.execute(select(ChargingSession).where(ChargingSession.id == session_id, _final()))
    ).scalar_one_or_none()
    if session is None:
        raise NotFound(kind="receipt", key=session_id)
    return await _receipt_of(db, session=session)


async def get_driver_receipt(
    *, db: AsyncSession, operator_id: int, driver_id: int, session_id: int
) -> Receipt:
    """The receipt of one of the driver's sessions; another driver's is NotFound."""
    receipt = await get_receipt(db=db, session_id=session_id)
    if receipt.operator_id != operator_id or receipt.driver_id != driver_id:
        raise NotFound(kind="receipt", key=session_id)
    return receipt


async def list_driver_receipts(
    *, db: AsyncSession, operator_id: int, driver_id: int, limit: int, after: int | None
) -> tuple[Sequence[Receipt], int | None]:
    """The driver's receipts, newest first (keyset by session id); and the next `after`."""
    statement = select(ChargingSession).where(
        ChargingSession.operator_id == operator_id,
        ChargingSession.driver_id == driver_id,
        _final(),
    )
    page: KeysetPage[ChargingSession] = await paginate_keyset(
        db, statement, key=ChargingSession.id, limit=limit, after=after
    )
    receipts = [await _receipt_of(db, session=row) for row in page.rows]
    return receipts, page.next_after
