"""Rotating a connected station's password with one operator command.

1. A short transaction checks the station is the caller's and addresses
   ChangeConfiguration(AuthorizationKey) with the new password.
2. The command is sent with no transaction open, and the station's answer awaited.
3. Only when the station took the password (Accepted, or RebootRequired: stored for after
   its reboot) is its argon2 hash kept as the station's pending password, in a second short
   transaction. The current password keeps working; the station's first login with the new
   one makes that the only one (`charging.station_events.promote_pending_password`).

A station that refuses (Rejected, NotSupported, a CALLERROR) or is not connected changes
nothing. A station that received the command but never confirmed it (it timed out, or the
connection dropped while waiting) may have applied it: the new password is then kept as
pending too, so that a station that did apply it is not locked out, and the error says so.
In every case the current password keeps working until the station logs in with a new one.
"""

from __future__ import annotations

from dataclasses import dataclass

from evbilling.commands import service
from evbilling.commands.domain import CONFIGURATION_TAKEN, configuration_status
from evbilling.infra.context import ServiceContext
from evbilling.infra.logging import get_logger
from evbilling.infra.secrets import hash_secret_async
from evbilling.infra.station_link import CommandRejected, StationNotConnected, StationTimeout
from evbilling.kit import EVBillingError

log = get_logger(__name__)


class PasswordRefused(EVBillingError):
    """The station answered the new password with something other than Accepted."""

    def __init__(self, *, identity: str, status: str) -> None:
        super().__init__(
            f"station {identity} answered {status} to the new AuthorizationKey; nothing was "
            "changed and its current password keeps working"
        )
        self.status = status


class PasswordChangeUnconfirmed(StationTimeout):
    """The station got the new password but did not confirm it."""


@dataclass(frozen=True, slots=True)
class RotatedPassword:
    station_id: int
    identity: str
    password: str  # shown once; only its argon2 hash is stored
    station_status: str


async def rotate_station_password(
    *,
    context: ServiceContext,
    operator_id: int,
    station_id: int,
    password: str | None,
    timeout_s: float,
) -> RotatedPassword:
    async with context.unit_of_work() as db:
        change = await service.prepare_password_change(
            db=db, operator_id=operator_id, station_id=station_id, password=password
        )
    outgoing = change.command
    identity = outgoing.station_identity
    if not context.commands.is_connected(identity):
        raise StationNotConnected(f"station {identity} is not connected")
    try:
        answer = await context.commands.send(
            station_identity=identity,
            action=outgoing.action,
            payload=outgoing.payload,
            timeout_s=timeout_s,
        )
    except CommandRejected:
        raise
    except (StationTimeout, StationNotConnected) as exc:
        await _keep_pending(context, operator_id=operator_id, change=change)
        log.warning("station.password_unconfirmed", station=identity)
        raise PasswordChangeUnconfirmed(
            f"station {identity} did not confirm the new AuthorizationKey ({exc}); its current "
            "password keeps working, and the new one is accepted too in case it was applied: "
            "rotate again once the station is connected"
        ) from exc
    status = configuration_status(answer)
    if status not in CONFIGURATION_TAKEN:
        log.warning("station.password_refused", station=identity, status=answer.get("status"))
        raise PasswordRefused(identity=identity, status=str(answer.get("status")))
    await _keep_pending(context, operator_id=operator_id, change=change)
    log.info("station.password_pending", station=identity, status=str(status))
    return RotatedPassword(
        station_id=change.station_id,
        identity=identity,
        password=change.password,
        station_status=str(status),
    )


async def _keep_pending(
    context: ServiceContext, *, operator_id: int, change: service.PasswordChange
) -> None:
    password_hash = await hash_secret_async(change.password)  # before the transaction opens
    async with context.unit_of_work() as db:
        await service.keep_pending_password(
            db=db,
            operator_id=operator_id,
            station_id=change.station_id,
            password_hash=password_hash,
            now=context.clock.now(),
        )
        await db.commit()
