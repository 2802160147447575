"""A postpaid session's sale, booked to its account's receivable once its amount is final:

    Dr postpaid_receivable account:{id}   total
    Cr revenue operator:{op}/location:{loc}   net (all rates)
    Cr vat_payable operator:{op}/rate:{r}     VAT per rate

the same shape as a card sale (payments/bookings.py), under the same reference
`sale:session:{id}`, so a session is sold once whichever way it is paid. The session's
exposure stops counting against the limit (its amount is now owed instead), and the credit
left is shared again among the account's sessions still charging.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.settlement import SessionSettlement, get_settlement
from evbilling.ledger import domain as ledger_domain
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, Line
from evbilling.models import ChargingSession, PostpaidAccount, PostpaidExposure
from evbilling.postpaid.credit import share_credit
from evbilling.postpaid.domain import AccountNotFound, ExposureStatus, NotPostpaidSession, rate_key
from evbilling.postpaid.repository import AccountRepository, ExposureRepository
from evbilling.postpaid.service import account_for


def sale_lines(*, account_id: int, settlement: SessionSettlement) -> list[Line]:
    assert settlement.total is not None
    assert settlement.currency is not None
    currency = settlement.currency
    lines = [
        Line(
            account=AccountRef.postpaid_receivable(account_id=account_id, currency=currency),
            amount_minor=settlement.total.minor_units(),
        )
    ]
    net = sum(portion.net.minor_units() for portion in settlement.portions)
    if net:
        revenue = AccountRef.revenue(
            operator_id=settlement.operator_id,
            location_id=settlement.location_id,
            currency=currency,
        )
        lines.append(Line(account=revenue, amount_minor=-net))
    for portion in settlement.portions:
        vat = portion.vat.minor_units()
        if vat:
            account = AccountRef.vat_payable(
                operator_id=settlement.operator_id, rate=portion.rate, currency=currency
            )
            lines.append(Line(account=account, amount_minor=-vat))
    return lines


async def _exposure_of(
    db: AsyncSession, *, session_id: int, settlement: SessionSettlement, now: datetime
) -> PostpaidExposure:
    """The session's exposure row; one is made for a postpaid session that had none (its
    account found from its token or driver)."""
    exposures = ExposureRepository(db)
    row = await exposures.for_session(session_id=session_id)
    if row is not None:
        return await exposures.get_for_update(id=row.id) or row
    session = await db.get(ChargingSession, session_id)
    token_id = session.token_id if session is not None else None
    account_id = await account_for(
        db=db,
        operator_id=settlement.operator_id,
        driver_id=settlement.driver_id,
        token_id=token_id,
    )
    if account_id is None:
        raise NotPostpaidSession(f"session {session_id} is not charged to a postpaid account")
    account = await AccountRepository(db).get(id=account_id)
    assert account is not None
    created = exposures.add(
        PostpaidExposure(
            account_id=account_id,
            driver_id=settlement.driver_id,
            station_id=settlement.station_id,
            session_id=session_id,
            currency=account.currency,
            amount_minor=0,
            status=ExposureStatus.ATTACHED.value,
            created_at=now,
            updated_at=now,
        )
    )
    await exposures.flush()
    return created


async def accrue_session(*, db: AsyncSession, session_id: int, now: datetime) -> None:
    """Book the session's sale to its account's receivable (once: a second call books
    nothing) and release its exposure. A session that cost nothing books nothing (it is still on
    the statement, at 0)."""
    settlement = await get_settlement(db=db, session_id=session_id)
    exposure = await _exposure_of(db, session_id=session_id, settlement=settlement, now=now)
    if exposure.status in (ExposureStatus.ACCRUED.value, ExposureStatus.RELEASED.value):
        return
    account: PostpaidAccount | None = await AccountRepository(db).get(id=exposure.account_id)
    if account is None:
        raise AccountNotFound(exposure.account_id)
    total = settlement.total
    if total is None or total.is_zero():
        exposure.status = ExposureStatus.ACCRUED.value  # on the statement, at 0
        exposure.accrued_minor = 0
        exposure.portions = []
    else:
        if total.currency != account.currency:
            raise NotPostpaidSession(
                f"session {session_id} is in {total.currency}, its account in {account.currency}"
            )
        draft = ledger_domain.build_entry(
            reference=f"sale:session:{session_id}",
            description=f"charging session {session_id} (postpaid account {account.id})",
            lines=sale_lines(account_id=account.id, settlement=settlement),
        )
        await ledger.post_entry(db=db, draft=draft, now=now)
        exposure.status = ExposureStatus.ACCRUED.value
        exposure.accrued_minor = total.minor_units()
        exposure.portions = [
            {
                "rate": rate_key(portion.rate),
                "net_minor": portion.net.minor_units(),
                "vat_minor": portion.vat.minor_units(),
            }
            for portion in settlement.portions
        ]
    exposure.accrued_at = now
    exposure.updated_at = now
    await db.flush()
    # What this session no longer needs goes to the account's sessions still charging.
    await share_credit(db=db, account_id=account.id, now=now)
