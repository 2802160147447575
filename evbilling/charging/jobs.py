"""Charging's background jobs (docs/jobs.md): close the sessions stations forgot, complete
stopped sessions whose car was never reported gone (the idle cap), and price again the
sessions whose pricing failed. Each runs in the job's own transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.completion import complete_idle_sessions
from evbilling.charging.ending import close_abandoned_sessions, retry_failed_pricing
from evbilling.infra.jobs import JobHandler
from evbilling.infra.logging import get_logger

log = get_logger(__name__)

CLOSE_ABANDONED = "charging.close_abandoned"
COMPLETE_IDLE = "charging.complete_idle"
RETRY_PRICING = "charging.retry_pricing"
# Sessions priced again per run; the next run takes the rest, longest untried first.
RETRY_PRICING_BATCH = 200


def close_abandoned(*, silent_for: timedelta) -> JobHandler:
    """The handler closing, as `abandoned`, active sessions silent for `silent_for`."""

    async def handler(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
        closed = await close_abandoned_sessions(db=db, now=now, silent_for=silent_for)
        if closed:
            log.info("sessions.abandoned", closed=closed)

    return handler


def complete_idle(*, idle_cap: timedelta) -> JobHandler:
    """The handler completing stopped sessions whose connector never reported Available
    within `idle_cap` of the stop (completion.complete_idle_sessions)."""

    async def handler(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
        await complete_idle_sessions(db=db, now=now, idle_cap=idle_cap)

    return handler


async def retry_pricing(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    priced = await retry_failed_pricing(db=db, now=now, limit=RETRY_PRICING_BATCH)
    if priced:
        log.info("sessions.repriced", priced=priced)
