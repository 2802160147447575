"""The payment slice's background work. Handlers that call the provider are standalone
(`JobRegistry.register_standalone`): they open their own units of work, so no transaction is
open while the provider answers; each is built by closure with the provider, and main
registers it.

- `session.completed` -> `settle_session(provider=...)`: the sale booked, the hold captured
  (min(cost, capturable)) or released; a refused capture retried with the job's backoff, then
  left as a receivable.
- `payments.release_hold` -> `release_hold(provider=...)`: a hold no session will use.
- `payments.refund` -> `finish_refund(provider=...)`: a refund its request could not finish.
- `payments.sweep_holds` (every 5 min) -> `sweep_holds(policy=...)`: holds no session took
  within `unused_hold_after` are released.
- `payments.adhoc_receipts` (every minute) -> `mail_adhoc_receipts`: the e-mail receipt of
  every complete ad-hoc session whose guest gave an address, then the addresses no longer
  needed erased (payments/adhoc_receipts.py).
- `wallets.settle_topups` (every 5 min) -> `settle_topups(provider=...)`: wallet top-ups whose
  provider answer was lost, settled from the provider's object (payments/topup_settlement.py).
- `postpaid.settle_card_payments` (every 5 min) -> `settle_postpaid_card_payments(provider=...)`:
  statement card payments left pending, settled from the provider's object
  (payments/postpaid_settlement.py).
- `payments.reconcile` (nightly) -> `reconcile_nightly(provider=...)`: yesterday (UTC)
  against the provider's balance transactions, the run stored and logged.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging import events as charging_events
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import enqueue
from evbilling.infra.jobs.registry import JobHandler, StandaloneJobHandler
from evbilling.infra.logging import get_logger
from evbilling.payments import (
    adhoc_receipts,
    capture,
    holds,
    postpaid_settlement,
    receipts,
    reconcile,
    refunds,
    topup_settlement,
)
from evbilling.payments.card_flow import RELEASE_KIND
from evbilling.payments.domain import HoldPolicy
from evbilling.payments.psp import PaymentProvider

SESSION_COMPLETED = charging_events.SESSION_COMPLETED
REFUND_KIND = refunds.REFUND_KIND
SWEEP_KIND = "payments.sweep_holds"
RECONCILE_KIND = "payments.reconcile"
ADHOC_RECEIPTS_KIND = "payments.adhoc_receipts"
SETTLE_TOPUPS_KIND = topup_settlement.SETTLE_KIND
SETTLE_POSTPAID_KIND = postpaid_settlement.SETTLE_KIND
__all__ = [
    "ADHOC_RECEIPTS_KIND",
    "RECONCILE_KIND",
    "REFUND_KIND",
    "RELEASE_KIND",
    "SESSION_COMPLETED",
    "SETTLE_POSTPAID_KIND",
    "SETTLE_TOPUPS_KIND",
    "SWEEP_KIND",
    "finish_refund",
    "mail_adhoc_receipts",
    "reconcile_nightly",
    "release_hold",
    "settle_postpaid_card_payments",
    "settle_session",
    "settle_topups",
    "sweep_holds",
]

log = get_logger(__name__)


def _id(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"payload needs a positive integer {name!r}")
    return value


def settle_session(
    *,
    provider: PaymentProvider,
    max_failures: int = capture.DEFAULT_MAX_FAILURES,
    capture_margin: timedelta = capture.DEFAULT_CAPTURE_MARGIN,
) -> StandaloneJobHandler:
    async def handler(*, context: ServiceContext, payload: dict[str, Any], now: datetime) -> None:
        await capture.settle_session(
            context=context,
            provider=provider,
            session_id=_id(payload, "session_id"),
            max_failures=max_failures,
            capture_margin=capture_margin,
        )

    return handler


def release_hold(*, provider: PaymentProvider) -> StandaloneJobHandler:
    async def handler(*, context: ServiceContext, payload: dict[str, Any], now: datetime) -> None:
        await holds.release_hold(
            context=context, provider=provider, hold_id=_id(payload, "hold_id")
        )

    return handler


def finish_refund(*, provider: PaymentProvider) -> StandaloneJobHandler:
    async def handler(*, context: ServiceContext, payload: dict[str, Any], now: datetime) -> None:
        await refunds.complete_refund(
            context=context, provider=provider, refund_id=_id(payload, "refund_id")
        )

    return handler


def sweep_holds(*, policy: HoldPolicy) -> JobHandler:
    async def handler(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
        for hold_id in await holds.unused_holds(db=db, policy=policy, now=now):
            await enqueue(
                db=db,
                kind=RELEASE_KIND,
                payload={"hold_id": hold_id},
                now=now,
                dedupe_key=f"{RELEASE_KIND}:{hold_id}",
            )

    return handler


def settle_topups(*, provider: PaymentProvider) -> StandaloneJobHandler:
    async def handler(*, context: ServiceContext, payload: dict[str, Any], now: datetime) -> None:
        settled = await topup_settlement.settle_unknown_topups(context=context, provider=provider)
        if settled:
            log.info("wallets.topups_settled", count=settled)

    return handler


def settle_postpaid_card_payments(*, provider: PaymentProvider) -> StandaloneJobHandler:
    async def handler(*, context: ServiceContext, payload: dict[str, Any], now: datetime) -> None:
        settled = await postpaid_settlement.settle_pending_card_payments(
            context=context, provider=provider
        )
        if settled:
            log.info("postpaid.card_payments_settled", count=settled)

    return handler


def reconcile_nightly(*, provider: PaymentProvider) -> StandaloneJobHandler:
    async def handler(*, context: ServiceContext, payload: dict[str, Any], now: datetime) -> None:
        end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        run = await reconcile.reconcile(
            context=context, provider=provider, start=end - timedelta(days=1), end=end
        )
        event = "payments.reconciled" if run.mismatch_count == 0 else "payments.mismatches"
        log.info(event, run_id=run.id, provider=provider.name, mismatches=run.mismatch_count)

    return handler


def mail_adhoc_receipts(*, public_base_url: str) -> StandaloneJobHandler:
    """Standalone: the receipt links are keyed with the context's server secret."""

    async def handler(*, context: ServiceContext, payload: dict[str, Any], now: datetime) -> None:
        def link(session_id: int) -> str:
            path = receipts.receipt_path(hasher=context.api_keys, session_id=session_id)
            return public_base_url.rstrip("/") + path

        async with context.unit_of_work() as db:
            queued = await adhoc_receipts.mail_receipts(db=db, now=now, link=link)
            forgotten = await adhoc_receipts.forget_unused_addresses(db=db, now=now)
            await db.commit()
        if queued or forgotten:
            log.info("payments.adhoc_receipts_queued", count=queued, forgotten=forgotten)

    return handler
