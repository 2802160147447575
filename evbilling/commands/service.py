"""Operator commands to stations: check the station (or session) is the caller's and address
the command, inside the caller's transaction.

Sending is the edge's job, after that transaction has ended: a station may take seconds to
answer, and no database connection is held while it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.read_repository import SessionRepository
from evbilling.charging.sessions import station_identity
from evbilling.commands.domain import RemoteStop, StationCommand, change_authorization_key
from evbilling.kit.errors import Conflict
from evbilling.stations import service as stations


@dataclass(frozen=True, slots=True)
class OutgoingCommand:
    """A command addressed to a station's OCPP identity, ready to send."""

    station_identity: str
    action: str
    payload: dict[str, Any]


async def prepare_command(
    *, db: AsyncSession, operator_id: int, station_id: int, command: StationCommand
) -> OutgoingCommand:
    identity = await station_identity(db=db, operator_id=operator_id, station_id=station_id)
    return OutgoingCommand(
        station_identity=identity, action=command.action, payload=command.payload()
    )


async def prepare_session_stop(
    *, db: AsyncSession, operator_id: int, session_id: int
) -> OutgoingCommand:
    """RemoteStopTransaction for a running session (payments stop sessions this way too)."""
    found = await SessionRepository(db).get_owned(id=session_id, owner_id=operator_id)
    if found.status != "active":
        raise Conflict(f"session {session_id} is {found.status}, not active")
    return await prepare_command(
        db=db,
        operator_id=operator_id,
        station_id=found.station_id,
        command=RemoteStop(transaction_id=found.transaction_id),
    )


@dataclass(frozen=True, slots=True)
class PasswordChange:
    """A new password addressed to a station, with the command that gives it the password."""

    station_id: int
    password: str  # shown once to the operator; never logged
    command: OutgoingCommand


async def prepare_password_change(
    *, db: AsyncSession, operator_id: int, station_id: int, password: str | None
) -> PasswordChange:
    """The new password (given and checked, or generated) and its ChangeConfiguration."""
    plain = stations.new_station_password(password)
    outgoing = await prepare_command(
        db=db,
        operator_id=operator_id,
        station_id=station_id,
        command=change_authorization_key(plain),
    )
    return PasswordChange(station_id=station_id, password=plain, command=outgoing)


async def keep_pending_password(
    *, db: AsyncSession, operator_id: int, station_id: int, password_hash: str, now: datetime
) -> None:
    await stations.set_pending_password(
        db=db, operator_id=operator_id, station_id=station_id, password_hash=password_hash, now=now
    )
