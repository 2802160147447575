"""Reconciliation: our payment records and the ledger's PSP clearing account against the
provider's balance transactions, every mismatch listed (missing at the provider, missing
here, amount differs, ledger differs) and the run stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.kit import InvalidRequest
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.models import ReconciliationRun
from evbilling.payments.psp import BalanceTransaction, PaymentProvider
from evbilling.payments.repository import (
    PaymentRepository,
    ReconciliationRepository,
    RefundRepository,
)
from evbilling.payments.service import minor

# Provider movements are looked up this far around the period, so a record made just before
# midnight and booked by the provider just after is not reported as missing.
SLACK = timedelta(days=1)
MAX_PERIOD = timedelta(days=93)


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str  # "missing_at_provider" | "missing_here" | "amount_differs" | "ledger_differs"
    source: str  # "capture" | "refund" | "psp_clearing" | the provider's kind
    reference: str  # our reference, or the provider's id when we have none
    currency: str
    ours_minor: int | None
    provider_minor: int | None


async def reconcile(
    *, context: ServiceContext, provider: PaymentProvider, start: datetime, end: datetime
) -> ReconciliationRun:
    if not start < end or end - start > MAX_PERIOD:
        raise InvalidRequest("the period must be non-empty and at most 93 days", field="to")
    movements = await provider.balance_transactions(
        created_from=start - SLACK, created_to=end + SLACK
    )
    async with context.unit_of_work() as db:
        now = context.clock.now()
        mismatches = await compare(
            db=db, provider=provider.name, movements=movements, start=start, end=end
        )
        run = ReconciliationRepository(db).add(
            ReconciliationRun(
                provider=provider.name,
                period_from=start,
                period_to=end,
                mismatch_count=len(mismatches),
                mismatches=[asdict(item) for item in mismatches],
                created_at=now,
            )
        )
        await db.flush()
        await db.commit()
        return run


async def compare(
    *,
    db: AsyncSession,
    provider: str,
    movements: Sequence[BalanceTransaction],
    start: datetime,
    end: datetime,
) -> list[Mismatch]:
    runs = ReconciliationRepository(db)
    captures = [m for m in movements if m.kind == "capture"]
    refunds = [m for m in movements if m.kind == "refund"]
    ours_by_auth = await runs.payment_by_authorization(
        provider=provider, ids=[m.source_id for m in captures]
    )
    ours_by_refund = await runs.refund_by_provider_id(
        provider=provider, ids=[m.source_id for m in refunds]
    )
    found: list[Mismatch] = []
    for movement in movements:
        if not start <= movement.created_at < end or movement.kind == "fee":
            continue
        amount = abs(minor(movement.amount))
        currency = movement.amount.currency
        if movement.kind == "capture" and movement.source_id in ours_by_auth:
            payment = ours_by_auth[movement.source_id]
            if payment.captured_minor != amount:
                found.append(
                    Mismatch(
                        "amount_differs",
                        "capture",
                        payment.reference or movement.id,
                        currency,
                        payment.captured_minor,
                        amount,
                    )
                )
        elif movement.kind == "refund" and movement.source_id in ours_by_refund:
            refund = ours_by_refund[movement.source_id]
            if refund.amount_minor != amount or refund.status != "succeeded":
                ours = refund.amount_minor if refund.status == "succeeded" else 0
                found.append(
                    Mismatch(
                        "amount_differs",
                        "refund",
                        refund.reference or movement.id,
                        currency,
                        ours,
                        amount,
                    )
                )
        else:
            found.append(
                Mismatch(
                    "missing_here",
                    movement.kind,
                    movement.reference or movement.id,
                    currency,
                    None,
                    amount,
                )
            )
    at_provider_captures = {m.source_id for m in captures}
    for payment in await PaymentRepository(db).captured_between(
        provider=provider, start=start, end=end
    ):
        if payment.authorization_id not in at_provider_captures:
            found.append(
                Mismatch(
                    "missing_at_provider",
                    "capture",
                    payment.reference or str(payment.id),
                    payment.currency,
                    payment.captured_minor,
                    None,
                )
            )
    at_provider_refunds = {m.source_id for m in refunds}
    for refund in await RefundRepository(db).succeeded_between(
        provider=provider, start=start, end=end
    ):
        if refund.provider_refund_id not in at_provider_refunds:
            found.append(
                Mismatch(
                    "missing_at_provider",
                    "refund",
                    refund.reference or str(refund.id),
                    refund.currency,
                    refund.amount_minor,
                    None,
                )
            )
    found += await _ledger_mismatches(db=db, provider=provider)
    return found


async def _ledger_mismatches(*, db: AsyncSession, provider: str) -> list[Mismatch]:
    """The PSP clearing account must hold what our records say was captured and not paid
    back (all time, posted entries only)."""
    found: list[Mismatch] = []
    records = await ReconciliationRepository(db).net_captured(provider=provider)
    for currency, expected in sorted(records.items()):
        account = AccountRef.psp_clearing(provider=provider, currency=currency)
        balance = await ledger.account_balance(db=db, account=account)
        if balance.balance_minor != expected:
            found.append(
                Mismatch(
                    "ledger_differs",
                    "psp_clearing",
                    f"psp:{provider}",
                    currency,
                    expected,
                    balance.balance_minor,
                )
            )
    return found
