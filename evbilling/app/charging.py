"""What a signed-in driver does at a charger: start and stop charging there, and follow their
sessions (docs/app-api.md).

Starting addresses a RemoteStartTransaction for the driver's app token (TokenType.APP,
created once per driver) after the payment check (`check_payment`); stopping a
RemoteStopTransaction for one of the driver's running sessions. Both go through
`commands.service` as the operator commands do: addressed here in a short transaction, sent
by the edge once it has ended. Sessions of other drivers are NotFound, never told apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.app.evses import find_evse
from evbilling.charging import costs
from evbilling.charging.read_repository import SessionFilter, SessionRepository
from evbilling.commands import service as commands
from evbilling.commands.domain import RemoteStart
from evbilling.drivers.linking import ensure_app_token
from evbilling.infra.db.repository import KeysetPage
from evbilling.infra.station_link import StationCommandPort, StationNotConnected
from evbilling.kit import EVBillingError, NotFound
from evbilling.kit.errors import Conflict, InvalidRequest
from evbilling.models import ChargingSession, Evse
from evbilling.payments.choice import choose_payment

ACTIVE = "active"


class PaymentNotPossible(Conflict):
    """No way to pay for a session is available to the driver here (no saved card, an empty
    wallet, a postpaid account at its limit, ...): the reason says which."""


class StationRefused(Conflict):
    """The station answered the remote start (or stop) with Rejected."""


class AlreadyCharging(Conflict):
    """The driver's app token is charging already: one app session at a time."""


@dataclass(frozen=True, slots=True)
class PreparedStart:
    evse_uid: str
    station_id: int
    connector_id: int
    id_tag: str
    command: commands.OutgoingCommand


async def check_payment(
    *, db: AsyncSession, operator_id: int, driver_id: int, now: datetime
) -> None:
    """The payment check before a remote start (`payments.choice.choose_payment`, the rule
    of docs/payment-choice.md): PaymentNotPossible with the reason when the driver has no
    way to pay here. The charger edge secures the chosen route (hold, reservation, credit)
    at the StartTransaction, as for an RFID card."""
    choice = await choose_payment(db=db, operator_id=operator_id, driver_id=driver_id, now=now)
    if choice.refused:
        raise PaymentNotPossible(f"no way to pay for charging here: {choice.reason}")


async def prepare_start(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int,
    evse_uid: str,
    connector_id: int | None,
    station_link: StationCommandPort,
    now: datetime,
) -> PreparedStart:
    evse = await find_evse(db=db, operator_id=operator_id, evse_uid=evse_uid, commands=station_link)
    if connector_id is not None and connector_id != evse.connector_id:
        raise InvalidRequest(
            f"EVSE {evse.evse_uid} is connector {evse.connector_id}", field="connector_id"
        )
    if not evse.connected:
        raise StationNotConnected(f"station of EVSE {evse.evse_uid} is not connected")
    await check_payment(db=db, operator_id=operator_id, driver_id=driver_id, now=now)
    token = await ensure_app_token(db=db, operator_id=operator_id, driver_id=driver_id, now=now)
    running = await db.scalar(
        select(ChargingSession.id).where(
            ChargingSession.token_id == token.id, ChargingSession.status == ACTIVE
        )
    )
    if running is not None:
        raise AlreadyCharging(f"session {running} is still running: stop it first")
    outgoing = await commands.prepare_command(
        db=db,
        operator_id=operator_id,
        station_id=evse.station_id,
        command=RemoteStart(id_tag=token.uid, connector_id=evse.connector_id),
    )
    return PreparedStart(
        evse_uid=evse.evse_uid,
        station_id=evse.station_id,
        connector_id=evse.connector_id,
        id_tag=token.uid,
        command=outgoing,
    )


async def owned_session(
    *, db: AsyncSession, operator_id: int, driver_id: int, session_id: int
) -> Row[Any]:
    """The driver's session as operators read it (one flat row); another's is NotFound."""
    row = await SessionRepository(db).read(operator_id=operator_id, session_id=session_id)
    if row is None or row.driver_id != driver_id:
        raise NotFound(kind="session", key=session_id)
    return row


async def prepare_stop(
    *, db: AsyncSession, operator_id: int, driver_id: int, session_id: int
) -> commands.OutgoingCommand:
    await owned_session(db=db, operator_id=operator_id, driver_id=driver_id, session_id=session_id)
    return await commands.prepare_session_stop(
        db=db, operator_id=operator_id, session_id=session_id
    )


async def list_sessions(
    *, db: AsyncSession, operator_id: int, driver_id: int, limit: int, after: int | None
) -> KeysetPage[Row[Any]]:
    """The driver's sessions, newest first (keyset by id)."""
    return await SessionRepository(db).after(
        where=SessionFilter(operator_id=operator_id, driver_id=driver_id), limit=limit, after=after
    )


@dataclass(frozen=True, slots=True)
class LiveView:
    """A session as the app shows it while it runs (and once it ended)."""

    session: Row[Any]
    evse_uid: str | None
    running: bool
    energy_wh: int
    currency: str | None
    cost_incl_vat: Decimal | None
    cost_excl_vat: Decimal | None
    cost_at: datetime | None


async def live_view(
    *, db: AsyncSession, operator_id: int, driver_id: int, session_id: int, now: datetime
) -> LiveView:
    """The driver's session with its running cost (the final one once stopped)."""
    row = await owned_session(
        db=db, operator_id=operator_id, driver_id=driver_id, session_id=session_id
    )
    evse_uid = (
        await db.scalar(select(Evse.uid).where(Evse.id == row.evse_id))
        if row.evse_id is not None
        else None
    )
    try:
        cost = await costs.running_cost(
            db=db, operator_id=operator_id, session_id=session_id, now=now
        )
    except EVBillingError:
        cost = None  # not priceable: the view shows the energy only
    energy = cost.energy_wh if cost is not None else (row.energy_wh or 0)
    if row.status != ACTIVE and row.energy_wh is not None:
        energy = row.energy_wh
    return LiveView(
        session=row,
        evse_uid=evse_uid,
        running=row.status == ACTIVE,
        energy_wh=energy,
        currency=cost.currency if cost is not None else row.currency,
        cost_incl_vat=cost.total_incl_vat if cost is not None else row.cost_incl_vat,
        cost_excl_vat=cost.total_excl_vat if cost is not None else row.cost_excl_vat,
        cost_at=cost.at if cost is not None else None,
    )
