"""Fuzzing one real station connection: 10,000 seeded malformed frames, pipelined.

Every frame that deserves an answer (a CALL, or anything not recognisably a CALLRESULT /
CALLERROR) gets its CALLERROR with the expected message id and code, answers from the
station are never answered, the connection stays up, and the database is unchanged except
for the heartbeats the valid Heartbeats mixed in record.
"""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.models import Station
from evbilling.ocpp.v16.schemas import OCPP16_ACTIONS
from tests.factories import create_station, create_tariff, create_token
from tests.functional.charger import raw_call
from tests.functional.conftest import LiveServer, connect
from tests.functional.test_ocpp_gateway import row_counts

SEED = 7_2026
FRAMES = 10_000

FORMATION = "FormationViolation"
PROTOCOL = "ProtocolError"
TYPE = "TypeConstraintViolation"
PROPERTY = "PropertyConstraintViolation"
NOT_SUPPORTED = "NotSupported"
NOT_IMPLEMENTED = "NotImplemented"
RESULT = "result"  # a CALLRESULT, not a CALLERROR


@dataclass(frozen=True, slots=True)
class Expected:
    """The answer a frame deserves: none, or one with these ids and codes; `dropped` marks
    a well-formed answer to no CALL of ours (counted, never kept)."""

    ids: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    dropped: bool = False

    @property
    def answered(self) -> bool:
        return bool(self.ids)


def answer(message_id: str | tuple[str, ...], *codes: str) -> Expected:
    ids = (message_id,) if isinstance(message_id, str) else message_id
    return Expected(ids=frozenset(ids), codes=frozenset(codes))


NO_ANSWER = Expected()
DROPPED = Expected(dropped=True)
TS = "2026-03-02T09:00:00Z"
START: dict[str, Any] = {"connectorId": 1, "idTag": "04A1B2C3D4", "meterStart": 0, "timestamp": TS}
STATUS: dict[str, Any] = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
JUNK_VALUES: list[Any] = [None, True, 1.5, -3, "x", [], {}, [1, [2]], {"a": {"b": None}}]
# CSMS-to-station actions and station actions this server does not handle.
UNHANDLED = sorted(
    OCPP16_ACTIONS
    - {
        "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
        "FirmwareStatusNotification", "Heartbeat", "MeterValues", "SecurityEventNotification",
        "StartTransaction", "StatusNotification", "StopTransaction",
    }
)  # fmt: skip

Frame = tuple[str | bytes, Expected]


class FrameFuzzer:
    """Seeded malformed frames, each with the answer it deserves."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = 0
        self.kinds: list[Callable[[str], Frame]] = [
            self.truncated, self.wrong_element_type, self.huge_integer, self.deep_nesting,
            self.nul, self.unknown_action, self.unhandled_action, self.wrong_type_id,
            self.oversize_string, self.long_message_id, self.binary, self.bad_field,
            self.unsolicited_answer, self.malformed_answer, self.non_finite, self.not_a_frame,
            self.wrong_length,
        ]  # fmt: skip

    def frames(self, total: int) -> list[Frame]:
        frames: list[Frame] = []
        for _ in range(total):
            self.count += 1
            message_id = f"f{self.count}"
            if self.rng.random() < 0.01:  # a valid Heartbeat now and then, answered normally
                frames.append((dump([2, message_id, "Heartbeat", {}]), answer(message_id, RESULT)))
            else:
                frames.append(self.rng.choice(self.kinds)(message_id))
        return frames

    def text(self, low: int, high: int) -> str:
        return "".join(self.rng.choices(string.ascii_letters, k=self.rng.randint(low, high)))

    # -- the kinds of malformed frames -----------------------------------------------------

    def truncated(self, mid: str) -> Frame:
        whole = dump([2, mid, "StartTransaction", START])
        # No proper prefix of a JSON array is JSON: the id cannot be read.
        return whole[: self.rng.randrange(1, len(whole))], answer("-1", FORMATION)

    def wrong_element_type(self, mid: str) -> Frame:
        junk = self.rng.choice(JUNK_VALUES)
        where = self.rng.choice(["id", "action", "payload"])
        if where == "id":
            return dump([2, self.rng.choice([7, None, [mid], {"id": mid}]), "Heartbeat", {}]), (
                answer("-1", FORMATION)
            )
        if where == "action":
            return dump([2, mid, junk if junk != "x" else 5, {}]), answer(mid, FORMATION)
        payload = junk if not isinstance(junk, dict) else [junk]
        return dump([2, mid, "Heartbeat", payload]), answer(mid, FORMATION)

    def huge_integer(self, mid: str) -> Frame:
        field = self.rng.choice(["connectorId", "meterStart"])
        bits = 31 if field == "connectorId" else 63
        number = self.rng.choice([2**bits, 2**bits + self.rng.randrange(10**6), 2**64, 10**30])
        text = dump([2, mid, "StartTransaction", {**START, field: 0}])
        return text.replace(f'"{field}":0', f'"{field}":{number}'), answer(mid, TYPE)

    def deep_nesting(self, mid: str) -> Frame:
        depth = self.rng.choice([self.rng.randint(33, 1_000), self.rng.randint(1_100, 3_000)])
        value = "[" * depth + "]" * depth
        text = f'[2,"{mid}","DataTransfer",{{"vendorId":"v","data":{value}}}]'
        # Past orjson's depth limit the id can no longer be read back.
        return text, answer(mid if depth <= 1_000 else (mid, "-1"), FORMATION)

    def nul(self, mid: str) -> Frame:
        tag = self.text(0, 10)
        cut = self.rng.randint(0, len(tag))
        where = self.rng.choice(["value", "key", "action"])
        if where == "value":
            frame = [2, mid, "Authorize", {"idTag": tag[:cut] + "\x00" + tag[cut:]}]
        elif where == "key":
            frame = [2, mid, "Heartbeat", {tag + "\x00": 1}]
        else:
            frame = [2, mid, "Heart\x00beat", {}]
        return dump(frame), answer(mid, PROPERTY)

    def unknown_action(self, mid: str) -> Frame:
        action = self.text(1, 40)
        expected = NOT_IMPLEMENTED if action in OCPP16_ACTIONS else NOT_SUPPORTED
        return dump([2, mid, action, {}]), answer(mid, expected)

    def unhandled_action(self, mid: str) -> Frame:
        return dump([2, mid, self.rng.choice(UNHANDLED), {}]), answer(mid, NOT_IMPLEMENTED)

    def wrong_type_id(self, mid: str) -> Frame:
        type_id = self.rng.choice([0, 1, 5, 6, -2, 99, "2", 2.0, True, None, [2]])
        return dump([type_id, mid, "Heartbeat", {}]), answer(mid, FORMATION)

    def oversize_string(self, mid: str) -> Frame:
        return dump([2, mid, "Authorize", {"idTag": self.text(21, 5_000)}]), answer(mid, TYPE)

    def long_message_id(self, mid: str) -> Frame:
        return dump([2, mid + "x" * self.rng.randint(37, 200), "Heartbeat", {}]), answer(
            "-1", FORMATION
        )

    def binary(self, mid: str) -> Frame:
        if self.rng.random() < 0.5:  # not UTF-8 from its first byte: no JSON at all
            noise = bytes([self.rng.randint(0x80, 0xFF)]) + self.rng.randbytes(30)
            return noise, answer("-1", FORMATION)
        return dump([2, mid, "NoSuchAction", {}]).encode(), answer(mid, NOT_SUPPORTED)

    def bad_field(self, mid: str) -> Frame:
        choice = self.rng.randrange(7)
        if choice == 0:
            return dump([2, mid, "StartTransaction", {**START, "timestamp": "noon"}]), answer(
                mid, TYPE
            )
        if choice == 1:
            payload = {**START, "meterStart": -self.rng.randint(1, 10**6)}
            return dump([2, mid, "StartTransaction", payload]), answer(mid, PROPERTY)
        if choice == 2:
            payload = {**STATUS, "status": self.text(1, 12)}
            return dump([2, mid, "StatusNotification", payload]), answer(mid, PROPERTY)
        if choice == 3:
            payload = {key: value for key, value in START.items() if key != "idTag"}
            return dump([2, mid, "StartTransaction", payload]), answer(mid, PROTOCOL)
        if choice == 4:
            payload = {**START, self.text(1, 8) + "Extra": 1}
            return dump([2, mid, "StartTransaction", payload]), answer(mid, FORMATION)
        if choice == 5:
            return dump([2, mid, "StartTransaction", {**START, "connectorId": True}]), answer(
                mid, TYPE
            )
        sample = {"value": self.rng.choice(["NaN", "inf", "1e999", "", "0x10", "1_000"])}
        payload = {"connectorId": 1, "meterValue": [{"timestamp": TS, "sampledValue": [sample]}]}
        return dump([2, mid, "MeterValues", payload]), answer(mid, PROPERTY)

    def unsolicited_answer(self, mid: str) -> Frame:
        if self.rng.random() < 0.5:
            return dump([3, mid, {"status": "Accepted"}]), DROPPED
        return dump([4, mid, "GenericError", self.text(0, 30), {}]), DROPPED

    def malformed_answer(self, mid: str) -> Frame:
        frame = self.rng.choice(
            [[3, mid, "not an object"], [3, mid], [4, mid, 5, "", {}], [4, mid, "X", "", []]]
        )
        return dump(frame), NO_ANSWER

    def non_finite(self, mid: str) -> Frame:
        payload = {key: value for key, value in START.items() if key != "meterStart"}
        text = dump([2, mid, "StartTransaction", payload])
        if self.rng.random() < 0.5:  # not JSON at all
            literal = self.rng.choice(["NaN", "Infinity", "-Infinity"])
            return text.replace("{", '{"meterStart":' + literal + ",", 1), answer(mid, FORMATION)
        return text.replace("{", '{"meterStart":1e400,', 1), answer(mid, TYPE)

    def not_a_frame(self, mid: str) -> Frame:
        text, code = self.rng.choice(
            [("{}", FORMATION), ('"text"', FORMATION), ("17", FORMATION), ("[]", PROTOCOL)]
        )
        return text, answer("-1", code)

    def wrong_length(self, mid: str) -> Frame:
        return self.rng.choice(
            [
                (dump([2, mid, "Heartbeat"]), answer(mid, PROTOCOL)),
                (dump([2, mid, "Heartbeat", {}, 1]), answer(mid, FORMATION)),
                (dump([2]), answer("-1", PROTOCOL)),
            ]
        )


def dump(frame: Any) -> str:
    return orjson.dumps(frame).decode()


async def station_row(context: ServiceContext) -> dict[str, Any]:
    async with context.unit_of_work() as db:
        row = (await db.execute(select(Station.__table__))).mappings().one()
        return dict(row)


async def test_ten_thousand_malformed_frames_get_their_answers_and_change_nothing(
    context: ServiceContext, operator_id: int, live_server: LiveServer
) -> None:
    tariff = await create_tariff(context, operator_id=operator_id)
    await create_station(context, operator_id=operator_id, tariff_id=tariff)
    await create_token(context, operator_id=operator_id)
    frames = FrameFuzzer(SEED).frames(FRAMES)
    expected = [(index, wanted) for index, (_, wanted) in enumerate(frames) if wanted.answered]
    before, station_before = await row_counts(context), await station_row(context)
    connection = await connect(live_server, "CP-1")

    async def send_all() -> None:
        # Pipelined: OCPP-J lets a station send without waiting, the server answers in order.
        for raw, _ in frames:
            await connection.send(raw)

    async def read_answers() -> list[list[Any]]:
        return [orjson.loads(await connection.recv()) for _ in expected]

    _, answers = await asyncio.wait_for(asyncio.gather(send_all(), read_answers()), timeout=120)
    after = await raw_call(connection, '[2,"still-up","Heartbeat",{}]')
    server_side = live_server.gateway.live_connection("CP-1")

    mismatches = [
        (frames[index][0][:80], wanted, got[:3])
        for (index, wanted), got in zip(expected, answers, strict=True)
        if got[1] not in wanted.ids
        or (got[0] == 3) != (RESULT in wanted.codes)
        or (got[0] == 4 and got[2] not in wanted.codes)
    ]
    assert mismatches == []
    assert all(len(got[3]) <= 255 for got in answers if got[0] == 4)
    assert after[:2] == [3, "still-up"]
    assert server_side is not None
    assert server_side.held_answers == 0
    assert server_side.dropped_answers == sum(wanted.dropped for _, wanted in frames)
    assert await row_counts(context) == before
    station_after = await station_row(context)
    changed = {key for key in station_before if station_before[key] != station_after[key]}
    assert changed <= {"last_heartbeat_at", "updated_at"}
    await connection.close()
