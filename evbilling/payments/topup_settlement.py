"""Wallet top-ups whose provider answer was lost (status `unknown`, nothing credited), settled
from the provider's own object: retrieved by its id, or found by our reference when even the
authorization's answer was lost (docs/wallets.md).

- captured at the provider: the wallet is credited what was captured (the credit is keyed by
  the top-up's reference, so it is booked once);
- still only held: the hold is released (its cancel call stored first), and the top-up
  failed: the driver was not charged and may top up again;
- canceled, declined, or unknown to the provider: failed, nothing charged.

A provider that does not answer leaves the top-up `unknown` for the next run. The scheduled
job `wallets.settle_topups` runs this every 5 minutes for top-ups left unknown for 2.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.logging import get_logger
from evbilling.kit import NotFound
from evbilling.models import WalletTopup
from evbilling.money import Money
from evbilling.payments.lost_answers import close_open_calls, settled_object
from evbilling.payments.psp import (
    Authorization,
    AuthorizationStatus,
    OutcomeUnknown,
    PaymentProvider,
    ProviderError,
)
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import TopupStatus
from evbilling.wallets.repository import TopupRepository

SETTLE_KIND = "wallets.settle_topups"
UNKNOWN_FOR = timedelta(minutes=2)
_log = get_logger(__name__)


async def settle_unknown_topups(
    *, context: ServiceContext, provider: PaymentProvider, unknown_for: timedelta = UNKNOWN_FOR
) -> int:
    """Settle every top-up of this provider left unknown for `unknown_for`; how many were."""
    async with context.unit_of_work() as db:
        ids = await TopupRepository(db).unknown_before(
            provider=provider.name, before=context.clock.now() - unknown_for
        )
    settled = 0
    for topup_id in ids:
        status = await settle_topup(context=context, provider=provider, topup_id=topup_id)
        if status is not TopupStatus.UNKNOWN:
            settled += 1
    return settled


async def settle_topup(
    *, context: ServiceContext, provider: PaymentProvider, topup_id: int
) -> TopupStatus:
    """Settle one unknown top-up from the provider's object; its status afterwards."""
    async with context.unit_of_work() as db:
        topup = await TopupRepository(db).get(id=topup_id)
        if topup is None:
            raise NotFound(kind="wallet top-up", key=topup_id)
        if topup.status != TopupStatus.UNKNOWN.value:
            return TopupStatus(topup.status)
        reference, authorization_id = topup.reference or "", topup.authorization_id
    try:
        found = await settled_object(
            context=context,
            provider=provider,
            subject=reference,
            authorization_id=authorization_id,
        )
    except (OutcomeUnknown, ProviderError) as exc:
        _log.warning("wallet.topup_still_unknown", topup_id=topup_id, error=type(exc).__name__)
        return TopupStatus.UNKNOWN
    async with context.unit_of_work() as db:
        status = await _record(db, topup_id=topup_id, found=found, now=context.clock.now())
        await db.commit()
    _log.info("wallet.topup_settled", topup_id=topup_id, status=status.value)
    return status


async def _record(
    db: AsyncSession, *, topup_id: int, found: Authorization | None, now: datetime
) -> TopupStatus:
    topup: WalletTopup | None = await TopupRepository(db).get_for_update(id=topup_id)
    if topup is None:
        raise NotFound(kind="wallet top-up", key=topup_id)
    if topup.status != TopupStatus.UNKNOWN.value:
        return TopupStatus(topup.status)  # settled by another run meanwhile
    reference = topup.reference or ""
    await close_open_calls(db, subject=reference, found=found, now=now)
    topup.updated_at = now
    if found is not None and found.status is AuthorizationStatus.CAPTURED:
        captured = found.captured
        topup.authorization_id = found.id
        topup.status = TopupStatus.CAPTURED.value
        if captured.minor_units() != topup.amount_minor:
            _log.warning("wallet.topup_captured_other_amount", topup_id=topup.id)
            topup.amount_minor = captured.minor_units()
        await wallets.credit_topup(
            db=db,
            wallet_id=topup.wallet_id,
            amount=Money.from_minor_units(topup.amount_minor, topup.currency),
            reference=reference,
            provider=topup.provider,
            now=now,
        )
        return TopupStatus.CAPTURED
    topup.status = TopupStatus.FAILED.value
    if found is not None:
        topup.authorization_id = found.id
    topup.decline_code = (
        "not_found_at_provider" if found is None else (found.decline_code or found.status.value)
    )[:60]
    return TopupStatus.FAILED
