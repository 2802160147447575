"""A station's CALL that failed on its own is kept with its frame, and still answered.

Group commit has isolated the failure (the message changed nothing, the messages batched
with it committed); the connection then keeps the CALL as a dead letter, in a unit of work
of its own, for an operator (`evbilling ocpp dead-letters`).

The answer. OCPP 1.6 stations queue transaction-related messages (StartTransaction,
MeterValues, StopTransaction) and resend one until the Central System acknowledges it with
a CALLRESULT, or until TransactionMessageAttempts is used up; meanwhile the messages behind
it wait. A failure that survived isolation almost always recurs, so resending only blocks
the station's queue. Once the frame is kept, a StopTransaction or a MeterValues is
therefore acknowledged (their confirmations carry nothing that would have to be made up:
`idTagInfo` is optional), and the session is closed from the kept evidence by an operator
or by the job that ends silent sessions. Every other CALL, and any CALL whose dead letter
could not be written (the database is down: nothing was kept, so the station should try
again), gets a CALLERROR InternalError with a short description.
"""

from __future__ import annotations

import json
from datetime import datetime

import orjson
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.station_events import StationRef
from evbilling.infra.db.group_commit import GroupCommit
from evbilling.infra.db.repository import KeysetPage, RepositoryBase
from evbilling.infra.logging import get_logger
from evbilling.kit.values import storable_text
from evbilling.models import MAX_DEAD_LETTER_FRAME, OcppDeadLetter
from evbilling.ocpp.v16.frames import CallFrame, ErrorCode

log = get_logger(__name__)

# Acknowledged once kept (see the module docstring): their CALLRESULT payload is {}.
ACKNOWLEDGED_WHEN_KEPT = frozenset({"MeterValues", "StopTransaction"})


def frame_text(frame: CallFrame) -> str:
    """The CALL as JSON text, re-encoded from the decoded frame: the same content as sent,
    in ASCII (U+0000 and any other control character escaped), so any text column holds it."""
    return json.dumps(
        [2, frame.message_id, frame.action, frame.payload], separators=(",", ":"), default=str
    )


def dead_letter(
    *, station: StationRef, frame: CallFrame, error: BaseException, received_at: datetime
) -> OcppDeadLetter:
    text = frame_text(frame)
    # A database error's own message, without the statement and parameters SQLAlchemy adds.
    cause = getattr(error, "orig", None) or error
    return OcppDeadLetter(
        operator_id=station.operator_id,
        station_id=station.id,
        station_identity=station.identity,
        action=frame.action,
        message_id=storable_text(frame.message_id, limit=36),
        frame=text[:MAX_DEAD_LETTER_FRAME],
        frame_length=len(text),
        error_type=f"{type(error).__module__}.{type(error).__qualname__}"[:200],
        error_message=storable_text(str(cause), limit=500),
        received_at=received_at,
    )


async def keep_dead_letter(
    writer: GroupCommit, *, station: StationRef, frame: CallFrame, error: BaseException
) -> int | None:
    """Write the failed CALL as a dead letter in its own unit of work; its id once committed,
    None when even that failed (logged, never raised)."""

    async def work(db: AsyncSession, now: datetime) -> int:
        row = dead_letter(station=station, frame=frame, error=error, received_at=now)
        db.add(row)
        await db.flush()
        return row.id

    try:
        return await writer.run(work)
    except Exception:
        log.exception("ocpp.dead_letter_failed", station=station.identity, action=frame.action)
        return None


def answer_after_failure(frame: CallFrame, *, dead_letter_id: int | None) -> str:
    """What the station is told about a CALL that failed (see the module docstring)."""
    if dead_letter_id is not None and frame.action in ACKNOWLEDGED_WHEN_KEPT:
        return orjson.dumps([3, frame.message_id, {}]).decode()
    description = (
        f"the message could not be processed; kept as dead letter {dead_letter_id}"
        if dead_letter_id is not None
        else "the message could not be processed; try again later"
    )
    return orjson.dumps(
        [4, frame.message_id, ErrorCode.INTERNAL_ERROR.value, description, {}]
    ).decode()


class DeadLetterRepository(RepositoryBase[OcppDeadLetter]):
    model = OcppDeadLetter
    kind = "dead letter"

    async def newest(
        self,
        *,
        operator_id: int,
        station_identity: str | None,
        limit: int,
        after: int | None,
    ) -> KeysetPage[OcppDeadLetter]:
        """Newest first, `after` the last id seen."""
        statement: Select[tuple[OcppDeadLetter]] = self.select_owned(owner_id=operator_id)
        if station_identity is not None:
            statement = statement.where(OcppDeadLetter.station_identity == station_identity)
        return await self.keyset_page(statement, limit=limit, after=after)
