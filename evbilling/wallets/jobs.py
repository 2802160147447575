"""The wallet slice's background work:

- `wallets.sweep` (every 5 min) -> `sweep(unattached_after=...)`: reservations no session took
  within `unattached_after` (a start that never came) are released back to the wallet.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.jobs.registry import JobHandler
from evbilling.infra.logging import get_logger
from evbilling.wallets import service as wallets

SWEEP_KIND = "wallets.sweep"
DEFAULT_UNATTACHED_AFTER = timedelta(minutes=10)

log = get_logger(__name__)


def sweep(*, unattached_after: timedelta = DEFAULT_UNATTACHED_AFTER) -> JobHandler:
    async def handler(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
        released = await wallets.sweep_unattached(db=db, older_than=now - unattached_after, now=now)
        if released:
            log.info("wallets.reservations_released", count=released)

    return handler
