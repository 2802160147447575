"""Jobs of the OCPP edge: charger commands that events of the slices below ask for.

`session.limit_reached` (charging records it when a session's running cost reaches the
spending limit payments set): RemoteStopTransaction to the session's station, then the reason
recorded on the session. A standalone job: it opens its own units of work and talks to the
station with no transaction open (a station may take seconds to answer). A station that is
not connected, does not answer or refuses is tried again (the job raises: backoff); a session
that has ended meanwhile needs nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evbilling.charging.domain import SessionStatus
from evbilling.charging.settlement import get_settlement, record_limit_stop
from evbilling.commands.service import prepare_session_stop
from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import StandaloneJobHandler
from evbilling.infra.logging import get_logger
from evbilling.kit import EVBillingError

log = get_logger(__name__)

ACCEPTED = "Accepted"


class RemoteStopRefused(EVBillingError):
    """The station answered RemoteStopTransaction with Rejected."""


def stop_at_spending_limit(*, timeout_s: float) -> StandaloneJobHandler:
    """The `session.limit_reached` handler, waiting `timeout_s` for the station's answer."""

    async def handler(*, context: ServiceContext, payload: dict[str, Any], now: datetime) -> None:
        session_id = int(payload["session_id"])
        reason = f"spending limit reached: {payload['limit']}"
        async with context.unit_of_work() as db:
            settlement = await get_settlement(db=db, session_id=session_id)
            if settlement.status != SessionStatus.ACTIVE:
                log.info("session.limit_stop_not_needed", session_id=session_id)
                return
            outgoing = await prepare_session_stop(
                db=db, operator_id=settlement.operator_id, session_id=session_id
            )
        # No transaction open while the station answers.
        response = await context.commands.send(
            station_identity=outgoing.station_identity,
            action=outgoing.action,
            payload=outgoing.payload,
            timeout_s=timeout_s,
        )
        status = response.get("status")
        async with context.unit_of_work() as db:
            await record_limit_stop(
                db=db,
                session_id=session_id,
                reason=reason if status == ACCEPTED else f"{reason} (station answered {status})",
                now=context.clock.now(),
            )
            await db.commit()
        log.info("session.limit_stop_sent", session_id=session_id, status=status)
        if status != ACCEPTED:
            raise RemoteStopRefused(f"station refused to stop session {session_id}: {status}")

    return handler
