"""Postpaid accounts' background work (docs/jobs.md), each in the job's own transaction:

- `postpaid.statements` (daily): last month's statement of every account that existed then,
  issued once (a later run finds it issued and changes nothing), so the 1st of the month's
  run issues them and the runs after it catch up whatever failed;
- `postpaid.release_exposures` (every 15 min): credit checked for a start that no session
  took within RELEASE_AFTER stops counting against the limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.logging import get_logger
from evbilling.postpaid import credit, statements
from evbilling.postpaid.domain import previous_month
from evbilling.postpaid.repository import AccountRepository, StatementRepository

STATEMENTS_KIND = "postpaid.statements"
RELEASE_KIND = "postpaid.release_exposures"
RELEASE_AFTER = timedelta(minutes=30)

log = get_logger(__name__)


async def issue_statements(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    start, end = previous_month(now)
    issued = 0
    for account_id in await AccountRepository(db).issuable(created_before=end):
        if await StatementRepository(db).for_period(account_id=account_id, start=start):
            continue
        account = await AccountRepository(db).get(id=account_id)
        assert account is not None
        await statements.build_statement(
            db=db,
            operator_id=account.operator_id,
            account_id=account_id,
            period_start=start,
            period_end=end,
            now=now,
        )
        issued += 1
    if issued:
        log.info("postpaid.statements_issued", count=issued, period=start.strftime("%Y-%m"))


async def release_unattached(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    released = await credit.release_unattached(db=db, older_than=now - RELEASE_AFTER, now=now)
    if released:
        log.info("postpaid.exposures_released", count=released)
