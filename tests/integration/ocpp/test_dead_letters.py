"""Dead letters: the CALL that failed alone is kept with its frame, bounded, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.station_events import StationRef
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.group_commit import GroupCommit
from evbilling.kit import EVBillingError
from evbilling.models import MAX_DEAD_LETTER_FRAME, OcppDeadLetter, Operator
from evbilling.ocpp.dead_letters import answer_after_failure, keep_dead_letter
from evbilling.ocpp.v16.frames import CallFrame
from tests.factories import create_station


class Poison(EVBillingError):
    """The failure of one unit of work."""


def add_operator(name: str, *, fail: bool) -> Callable[[AsyncSession, datetime], Awaitable[str]]:
    async def work(db: AsyncSession, now: datetime) -> str:
        db.add(Operator(name=name, created_at=now))
        await db.flush()
        if fail:
            raise Poison(f"{name} is poison")
        return name

    return work


async def station_ref(context: ServiceContext, operator_id: int) -> StationRef:
    station_id = await create_station(context, operator_id=operator_id, identity="CP-1")
    return StationRef(id=station_id, operator_id=operator_id, identity="CP-1")


async def kept(context: ServiceContext) -> list[OcppDeadLetter]:
    async with context.unit_of_work() as db:
        rows = await db.execute(select(OcppDeadLetter).order_by(OcppDeadLetter.id))
        return list(rows.scalars())


class TestKeepingDeadLetters:
    async def test_the_poison_unit_among_many_is_dead_lettered_and_the_others_commit(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await station_ref(context, operator_id)
        writer = GroupCommit(context=context)
        frames = [
            CallFrame(message_id=f"m-{i}", action="DataTransfer", payload={"vendorId": str(i)})
            for i in range(40)
        ]

        async def message(i: int) -> str:
            try:
                return await writer.run(add_operator(f"unit-{i:02}", fail=i == 17))
            except Poison as error:
                dead_letter_id = await keep_dead_letter(
                    writer, station=station, frame=frames[i], error=error
                )
                return answer_after_failure(frames[i], dead_letter_id=dead_letter_id)

        answers = await asyncio.gather(*(message(i) for i in range(40)))

        letters = await kept(context)
        assert [(d.message_id, d.action, d.error_message) for d in letters] == [
            ("m-17", "DataTransfer", "unit-17 is poison")
        ]
        assert letters[0].error_type.endswith("Poison")
        assert orjson.loads(answers[17])[:3] == [4, "m-17", "InternalError"]
        assert answers[:17] + answers[18:] == [f"unit-{i:02}" for i in range(40) if i != 17]
        async with context.unit_of_work() as db:
            names = set((await db.execute(select(Operator.name))).scalars())
        assert "unit-17" not in names
        assert len([n for n in names if n.startswith("unit-")]) == 39

    async def test_a_huge_frame_is_kept_cut_to_64_kib_with_its_length(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await station_ref(context, operator_id)
        frame = CallFrame(
            message_id="big",
            action="DataTransfer",
            payload={"vendorId": "V", "data": "x" * 200_000},
        )

        dead_letter_id = await keep_dead_letter(
            GroupCommit(context=context), station=station, frame=frame, error=RuntimeError("boom")
        )

        (letter,) = await kept(context)
        assert letter.id == dead_letter_id
        assert len(letter.frame) == MAX_DEAD_LETTER_FRAME
        assert letter.frame_length > 200_000
        assert letter.frame.startswith('[2,"big","DataTransfer",{"vendorId":"V","data":"xxx')

    async def test_u0000_in_the_frame_and_the_error_is_kept_on_every_database(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await station_ref(context, operator_id)
        frame = CallFrame(
            message_id="a\0b", action="Authorize", payload={"idTag": "AB\0C", "x": 1e300}
        )

        await keep_dead_letter(
            GroupCommit(context=context),
            station=station,
            frame=frame,
            error=ValueError("bad \0 value"),
        )

        (letter,) = await kept(context)
        assert orjson.loads(letter.frame) == [2, "a\0b", "Authorize", frame.payload]
        assert "\0" not in letter.frame
        assert letter.message_id == "a\ufffdb"
        assert letter.error_message == "bad \ufffd value"

    async def test_only_stops_and_meter_values_are_acknowledged_once_kept(self) -> None:
        stop = CallFrame(message_id="1", action="StopTransaction", payload={})
        meter = CallFrame(message_id="2", action="MeterValues", payload={})
        start = CallFrame(message_id="3", action="StartTransaction", payload={})

        assert answer_after_failure(stop, dead_letter_id=7) == '[3,"1",{}]'
        assert answer_after_failure(meter, dead_letter_id=7) == '[3,"2",{}]'
        assert orjson.loads(answer_after_failure(start, dead_letter_id=7)) == [
            4, "3", "InternalError", "the message could not be processed; kept as dead letter 7",
            {},
        ]  # fmt: skip
        assert orjson.loads(answer_after_failure(stop, dead_letter_id=None))[:3] == [
            4, "1", "InternalError",
        ]  # fmt: skip
