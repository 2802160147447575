"""The ad-hoc guest's receipt by e-mail: once the session is complete (its amount final), a
plain-text receipt goes through the mail outbox to the address the guest gave, once (the
outbox's dedupe key and `receipt_mailed_at`). The address is kept for nothing else: erased
once the receipt is queued, and a day after the start for a guest who never charged."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.costs import running_cost
from evbilling.infra.mail import enqueue_mail
from evbilling.models import AdhocPayment, ChargingSession, Evse, Location, Station
from evbilling.payments.adhoc_repository import AdhocRepository
from evbilling.rating.texts import bill_lines

_BATCH = 100
UNUSED_ADDRESS_KEPT = timedelta(days=1)


async def receipt_text(
    *, db: AsyncSession, payment: AdhocPayment, session_id: int, link: str | None = None
) -> str:
    session = await db.get(ChargingSession, session_id)
    station = await db.get(Station, payment.station_id)
    evse = await db.get(Evse, payment.evse_id)
    assert session is not None
    assert station is not None
    assert evse is not None
    location = await db.get(Location, station.location_id)
    cost = await running_cost(
        db=db, operator_id=payment.operator_id, session_id=session_id, now=session.started_at
    )
    lines = [
        "Your charging receipt",
        "",
        f"Place: {location.name if location is not None else station.identity}",
        f"Charger: {evse.uid} (station {station.identity}, connector {evse.connector_id})",
        f"Started: {session.started_at:%Y-%m-%d %H:%M} UTC",
    ]
    if session.stopped_at is not None:
        lines.append(f"Stopped: {session.stopped_at:%Y-%m-%d %H:%M} UTC")
    if cost is not None:
        lines += [f"Energy: {cost.energy_wh / 1000:.2f} kWh", "", *bill_lines(cost.rated)]
    lines += ["", "Paid by card. Amounts include VAT."]
    if link is not None:
        lines += ["", f"Your receipt online: {link}"]
    return "\n".join(lines) + "\n"


async def mail_receipts(
    *, db: AsyncSession, now: datetime, link: Callable[[int], str] | None = None
) -> int:
    """Queue the receipt of every complete ad-hoc session whose guest gave an address and has
    not been mailed yet (`link`: the public receipt URL of a session), then forget the
    address; how many were queued."""
    queued = 0
    for payment, session_id in await AdhocRepository(db).receipts_to_mail(limit=_BATCH):
        assert payment.email is not None
        await enqueue_mail(
            db=db,
            to=payment.email,
            subject="Your charging receipt",
            body_text=await receipt_text(
                db=db,
                payment=payment,
                session_id=session_id,
                link=link(session_id) if link is not None else None,
            ),
            now=now,
            dedupe_key=f"adhoc-receipt:{payment.id}",
        )
        payment.receipt_mailed_at = now
        payment.email = None  # the address served this receipt; nothing else needs it
        payment.updated_at = now
        queued += 1
    await db.flush()
    return queued


async def forget_unused_addresses(*, db: AsyncSession, now: datetime) -> int:
    """Addresses of guests who never charged, a day after they began: erased (a hold left
    unused is released long before). How many."""
    return await AdhocRepository(db).forget_addresses_without_session(
        before=now - UNUSED_ADDRESS_KEPT, now=now
    )
