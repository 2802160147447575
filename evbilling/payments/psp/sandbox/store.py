"""What every sandbox operation shares: sequential ids, the JSON shapes of its objects,
events (written in the operation's transaction, sent after its commit), fees and the lazy
expiry of holds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from evbilling.payments.psp.currencies import ProviderCurrencies
from evbilling.payments.psp.sandbox import tables as t
from evbilling.payments.psp.sandbox.cards import CardBehaviour

HOLD_VALIDITY = timedelta(days=7)
EARLY_EXPIRY_VALIDITY = timedelta(minutes=10)
FEE_RATE = Decimal("0.014")  # 1.4 % + 0.25 major units, rounded half up in provider units
FEE_FIXED_MAJOR = Decimal("0.25")


class ApiFailure(Exception):
    """A request the sandbox refuses with nothing changed (the transaction rolls back)."""

    def __init__(self, status: int, *, type_: str, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {
            "error": {"type": type_, "code": code, "message": message, **extra}
        }


def not_found(kind: str, object_id: str) -> ApiFailure:
    return ApiFailure(
        404, type_="invalid_request_error", code="resource_missing",
        message=f"no such {kind}: {object_id[:40]!r}",
    )  # fmt: skip


def invalid(code: str, message: str) -> ApiFailure:
    return ApiFailure(400, type_="invalid_request_error", code=code, message=message)


@dataclass(slots=True)
class Effects:
    """What happens after the commit: webhook batches to send, a delay before answering."""

    webhook_batches: list[list[bytes]] = field(default_factory=list)
    answer_after_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int
    body: dict[str, Any]


def iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.isoformat()


async def next_id(conn: AsyncConnection, prefix: str) -> str:
    result = await conn.execute(
        update(t.counters)
        .where(t.counters.c.prefix == prefix)
        .values(value=t.counters.c.value + 1)
        .returning(t.counters.c.value)
    )
    return f"{prefix}_sbx_{result.scalar_one():06d}"


def fee_for(amount: int, *, exponent: int) -> int:
    fee = Decimal(amount) * FEE_RATE + FEE_FIXED_MAJOR.scaleb(exponent)
    return int(fee.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def hold_validity(behaviour: CardBehaviour) -> timedelta:
    if behaviour is CardBehaviour.EARLY_EXPIRY:
        return EARLY_EXPIRY_VALIDITY
    return HOLD_VALIDITY


def customer_json(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"], "object": "customer", "reference": row["reference"],
        "email": row["email"], "created": iso(t.from_us(row["created_us"])),
    }  # fmt: skip


def method_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "object": "payment_method", "customer": row["customer_id"],
        "brand": row["brand"], "last4": row["last4"], "exp_month": row["exp_month"],
        "exp_year": row["exp_year"], "detached": row["detached"],
    }  # fmt: skip


def authorization_json(row: RowMapping) -> dict[str, Any]:
    capture_before = row["capture_before_us"]
    return {
        "id": row["id"],
        "object": "authorization",
        "reference": row["reference"],
        "status": row["status"],
        "currency": row["currency"],
        "amount_requested": row["requested"],
        "amount_authorized": row["authorized"],
        "amount_captured": row["captured"],
        "amount_refunded": row["refunded"],
        "capture_before": None if capture_before is None else iso(t.from_us(capture_before)),
        "incremental_authorization": row["status"] == "authorized",
        "decline_code": row["decline_code"],
        "cancellation_reason": row["cancellation_reason"],
        "customer": row["customer_id"],
        "payment_method": row["method_id"],
        "off_session": row["off_session"],
        "created": iso(t.from_us(row["created_us"])),
    }


def refund_json(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"], "object": "refund", "reference": row["reference"],
        "authorization": row["authorization_id"], "currency": row["currency"],
        "amount": row["amount"], "status": row["status"],
        "created": iso(t.from_us(row["created_us"])),
    }  # fmt: skip


def balance_transaction_json(row: RowMapping) -> dict[str, Any]:
    return {
        "id": row["id"], "object": "balance_transaction", "kind": row["kind"],
        "source": row["source_id"], "reference": row["reference"],
        "currency": row["currency"], "amount": row["amount"], "fee": row["fee"],
        "created": iso(t.from_us(row["created_us"])),
    }  # fmt: skip


async def emit(
    conn: AsyncConnection,
    effects: Effects,
    *,
    now: datetime,
    type_: str,
    obj: dict[str, Any],
    duplicate: bool,
) -> str:
    """Record an event about `obj` and queue its delivery. The duplicate/out-of-order card's
    objects send each event twice, then their previous event again (an older state last)."""
    event_id = await next_id(conn, "evt")
    payload = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type_,
            "created": int(now.timestamp()),
            "data": {"object": obj},
        },
        separators=(",", ":"),
    ).encode()
    previous = None
    if duplicate:
        previous = (
            await conn.execute(
                select(t.events.c.payload)
                .where(t.events.c.object_id == obj["id"])
                .order_by(t.events.c.created_us.desc(), t.events.c.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    await conn.execute(
        insert(t.events).values(
            id=event_id, type=type_, object_id=obj["id"], object_status=obj["status"],
            duplicate=duplicate, payload=payload.decode(), created_us=t.to_us(now),
        )
    )  # fmt: skip
    batch = [payload]
    if duplicate:
        batch.append(payload)
        if previous is not None:
            batch.append(previous.encode())
    effects.webhook_batches.append(batch)
    return event_id


async def locked_authorization(conn: AsyncConnection, authorization_id: str) -> RowMapping:
    """The authorization row, locked for this transaction (PostgreSQL: FOR UPDATE; SQLite
    has one writer): concurrent captures and refunds of one hold run one after another."""
    row = (
        (
            await conn.execute(
                select(t.authorizations)
                .where(t.authorizations.c.id == authorization_id)
                .with_for_update()
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise not_found("authorization", authorization_id)
    return row


async def expire_if_due(
    conn: AsyncConnection, effects: Effects, row: RowMapping, *, now: datetime
) -> RowMapping:
    """A hold past its capture_before is canceled the first time it is touched or listed."""
    deadline = row["capture_before_us"]
    if row["status"] != "authorized" or deadline is None or t.to_us(now) < deadline:
        return row
    await conn.execute(
        update(t.authorizations)
        .where(t.authorizations.c.id == row["id"])
        .values(status="canceled", cancellation_reason="expired")
    )
    updated = await reload(conn, row["id"])
    await emit(
        conn, effects, now=now, type_="authorization.canceled",
        obj=authorization_json(updated), duplicate=is_duplicate(updated),
    )  # fmt: skip
    return updated


async def reload(conn: AsyncConnection, authorization_id: str) -> RowMapping:
    return (
        (
            await conn.execute(
                select(t.authorizations).where(t.authorizations.c.id == authorization_id)
            )
        )
        .mappings()
        .one()
    )


def is_duplicate(row: RowMapping) -> bool:
    return bool(row["behaviour"] == CardBehaviour.DUPLICATE_WEBHOOKS)


def check_amount(currencies: ProviderCurrencies, *, currency: str, amount: int) -> None:
    """The provider's own rules on an API amount: positive, a whole step (KWD: multiples of
    10; ISK: of 100), within the digit limit."""
    rule = currencies.rule(currency)
    if amount <= 0:
        raise invalid("amount_invalid", "amount must be a positive integer")
    if amount % rule.step:
        raise invalid("amount_invalid", f"{currency} amounts must be multiples of {rule.step}")
    if amount > currencies.max_minor(currency):
        raise invalid("amount_too_large", "amount has too many digits")
