"""The SQL of the Idempotency-Key store: reserve a key, complete or release it, prune."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.http.idempotency_model import IdempotencyKey

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


class Reservation(StrEnum):
    RESERVED = "reserved"  # a new key: run the request
    REPLAY = "replay"  # the same request succeeded before: answer its response again
    MISMATCH = "mismatch"  # the key was used for another request
    IN_PROGRESS = "in_progress"  # the first request with this key has not finished


@dataclass(frozen=True, slots=True)
class Reserved:
    outcome: Reservation
    key_id: int | None = None
    status: int | None = None
    content_type: str | None = None
    body: bytes | None = None


async def reserve(
    *,
    db: AsyncSession,
    principal: str,
    key: str,
    request_hash: str,
    now: datetime,
    expires_at: datetime,
) -> Reserved:
    """Take the key for this request, or say what the earlier request with it did. Expired
    keys count as absent. Two requests racing for one key: the loser sees the winner's row."""
    await db.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.principal == principal,
            IdempotencyKey.key == key,
            IdempotencyKey.expires_at <= now,
        )
    )
    row = IdempotencyKey(
        principal=principal,
        key=key,
        request_hash=request_hash,
        status=IN_PROGRESS,
        created_at=now,
        expires_at=expires_at,
    )
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:
        existing = (
            await db.execute(
                select(IdempotencyKey).where(
                    IdempotencyKey.principal == principal, IdempotencyKey.key == key
                )
            )
        ).scalar_one()
        return _earlier(existing, request_hash=request_hash)
    return Reserved(outcome=Reservation.RESERVED, key_id=row.id)


def _earlier(existing: IdempotencyKey, *, request_hash: str) -> Reserved:
    if existing.request_hash != request_hash:
        return Reserved(outcome=Reservation.MISMATCH)
    if existing.status != COMPLETED:
        return Reserved(outcome=Reservation.IN_PROGRESS)
    return Reserved(
        outcome=Reservation.REPLAY,
        key_id=existing.id,
        status=existing.response_status,
        content_type=existing.response_content_type,
        body=existing.response_body,
    )


async def complete(
    *, db: AsyncSession, key_id: int, status: int, content_type: str | None, body: bytes
) -> None:
    await db.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == key_id)
        .values(
            status=COMPLETED,
            response_status=status,
            response_content_type=content_type,
            response_body=body,
        )
    )


async def release(*, db: AsyncSession, key_id: int) -> None:
    await db.execute(delete(IdempotencyKey).where(IdempotencyKey.id == key_id))


async def prune_expired(*, db: AsyncSession, now: datetime) -> int:
    result = await db.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
