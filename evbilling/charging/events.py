"""The events charging records for the slices above it (job rows, written in the same
transaction as the change; docs/sessions.md). Charging never imports who handles them.

- `session.completed` {"session_id"}: the session's amount is final (stopped and unplugged,
  or ended by the server, not billable, zero energy); once per session.
- `session.repriced` {"session_id"}: a completed session was priced again.
- `session.limit_reached` {"session_id", "limit"}: the running cost reached the spending
  limit; once per session. The OCPP edge stops the session remotely.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.jobs import enqueue
from evbilling.money import Money

SESSION_COMPLETED = "session.completed"
SESSION_REPRICED = "session.repriced"
SESSION_LIMIT_REACHED = "session.limit_reached"


def limit_text(limit: Money) -> str:
    """A spending limit as events and reasons name it: "EUR 47.10"."""
    return f"{limit.currency} {limit.amount}"


async def record_completed(*, db: AsyncSession, session_id: int, now: datetime) -> None:
    await enqueue(
        db=db,
        kind=SESSION_COMPLETED,
        payload={"session_id": session_id},
        now=now,
        dedupe_key=f"{SESSION_COMPLETED}:{session_id}",
    )


async def record_repriced(*, db: AsyncSession, session_id: int, now: datetime) -> None:
    await enqueue(
        db=db,
        kind=SESSION_REPRICED,
        payload={"session_id": session_id},
        now=now,
        dedupe_key=f"{SESSION_REPRICED}:{session_id}:{now.isoformat()}",
    )


async def record_limit_reached(
    *, db: AsyncSession, session_id: int, limit: Money, now: datetime
) -> None:
    await enqueue(
        db=db,
        kind=SESSION_LIMIT_REACHED,
        payload={"session_id": session_id, "limit": limit_text(limit)},
        now=now,
        dedupe_key=f"{SESSION_LIMIT_REACHED}:{session_id}",
    )
