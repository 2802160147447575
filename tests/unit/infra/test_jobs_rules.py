"""The job queue's pure rules: backoff, schedule slots, payload bounds, kinds, the registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.jobs import Backoff, JobKind, JobRegistry
from evbilling.infra.jobs.domain import (
    MAX_PAYLOAD_BYTES,
    checked_dedupe_key,
    checked_max_attempts,
    checked_payload,
    error_text,
    slot_dedupe_key,
    slot_start,
)
from evbilling.kit import InvalidRequest

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def nothing(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    return None


class TestBackoff:
    def test_doubles_from_the_base_for_each_attempt_until_the_cap(self) -> None:
        backoff = Backoff(base=timedelta(seconds=30), cap=timedelta(minutes=5), jitter=0)

        delays = [backoff.delay(attempts=n, job_id=1).total_seconds() for n in range(1, 8)]

        assert delays == [30, 60, 120, 240, 300, 300, 300]

    def test_a_huge_attempt_count_stays_at_the_cap(self) -> None:
        backoff = Backoff(cap=timedelta(hours=1), jitter=0)

        assert backoff.delay(attempts=10_000, job_id=1) == timedelta(hours=1)

    def test_jitter_only_shortens_and_spreads_jobs_that_failed_together(self) -> None:
        backoff = Backoff(base=timedelta(seconds=100), cap=timedelta(seconds=100), jitter=0.5)

        delays = [backoff.delay(attempts=3, job_id=job_id) for job_id in range(1, 51)]

        assert all(timedelta(seconds=50) < d <= timedelta(seconds=100) for d in delays)
        assert len(set(delays)) > 40

    def test_is_the_same_for_the_same_job_and_attempt(self) -> None:
        backoff = Backoff(jitter=0.3)

        assert backoff.delay(attempts=4, job_id=9) == backoff.delay(attempts=4, job_id=9)
        assert backoff.delay(attempts=4, job_id=9) != backoff.delay(attempts=4, job_id=10)

    @pytest.mark.parametrize(
        "settings",
        [
            {"base": timedelta(0)},
            {"base": timedelta(minutes=2), "cap": timedelta(minutes=1)},
            {"factor": 0.5},
            {"jitter": 1.0},
            {"jitter": -0.1},
        ],
    )
    def test_refuses_a_backoff_that_would_not_back_off(self, settings: dict[str, Any]) -> None:
        with pytest.raises(ValueError, match="backoff needs"):
            Backoff(**settings)


class TestScheduleSlots:
    def test_moments_in_one_slot_share_its_start_and_key(self) -> None:
        every = timedelta(minutes=5)

        starts = {slot_start(now=NOON + timedelta(seconds=s), every=every) for s in (0, 1, 299)}

        assert starts == {NOON}
        assert slot_dedupe_key(kind="a.b", slot=NOON) == "schedule:a.b@2026-03-02T12:00:00.000000Z"

    def test_the_next_slot_starts_a_period_later_with_another_key(self) -> None:
        every = timedelta(minutes=5)

        later = slot_start(now=NOON + timedelta(minutes=5, seconds=1), every=every)

        assert later == NOON + every
        assert slot_dedupe_key(kind="a.b", slot=later) != slot_dedupe_key(kind="a.b", slot=NOON)

    def test_slots_are_counted_from_the_epoch_not_from_the_first_call(self) -> None:
        assert (
            slot_start(now=datetime(2026, 3, 2, 12, 7, 13, tzinfo=UTC), every=timedelta(hours=1))
            == NOON
        )


class TestPayload:
    def test_accepts_a_small_json_object(self) -> None:
        payload = {"session_id": 7, "reason": "silent", "ratio": 0.5, "tags": ["a", None, True]}

        assert checked_payload(payload) == payload

    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            ([1, 2], "must be a JSON object"),
            ("text", "must be a JSON object"),
            ({"blob": "x" * MAX_PAYLOAD_BYTES}, f"at most {MAX_PAYLOAD_BYTES} bytes"),
            ({"n": 2**63}, "64 bits"),
            ({"n": -(2**63) - 1}, "64 bits"),
            ({"x": float("nan")}, "finite"),
            ({"x": float("inf")}, "finite"),
            ({"tag": "A\x00B"}, "U\\+0000"),
            ({"A\x00": 1}, "U\\+0000"),
            ({"price": Decimal("0.30")}, "not Decimal"),
            ({"at": NOON}, "not datetime"),
            ({1: "one"}, "keys must be text"),
            ({"a": [[[[[[[[[1]]]]]]]]]}, "nest at most"),
        ],
    )
    def test_refuses_what_a_database_would_not_store_as_given(
        self, payload: object, message: str
    ) -> None:
        with pytest.raises(InvalidRequest, match=message) as raised:
            checked_payload(payload)

        assert raised.value.field == "payload"

    def test_counts_the_bytes_of_text_beyond_ascii(self) -> None:
        # 2,100 four-byte characters are 8,400 bytes of UTF-8: over the limit.
        with pytest.raises(InvalidRequest, match="bytes"):
            checked_payload({"note": "\U0001f50c" * 2_100})


class TestOtherInputs:
    @pytest.mark.parametrize("kind", ["charging.close_abandoned", "jobs.prune", "a", "a1.b_2"])
    def test_accepts_dotted_lower_case_kinds(self, kind: str) -> None:
        assert JobKind.parse(kind) == kind

    @pytest.mark.parametrize(
        "kind", ["", "Charging.x", "a..b", ".a", "a.", "a b", "a-b", "a\n", "x" * 65, "1a"]
    )
    def test_refuses_other_kinds(self, kind: str) -> None:
        with pytest.raises(InvalidRequest) as raised:
            JobKind.parse(kind)

        assert raised.value.field == "kind"

    @pytest.mark.parametrize("key", ["", "a\x00", "k" * 201, 5])
    def test_refuses_empty_long_or_non_text_dedupe_keys(self, key: object) -> None:
        with pytest.raises(InvalidRequest) as raised:
            checked_dedupe_key(key)

        assert raised.value.field == "dedupe_key"

    @pytest.mark.parametrize("attempts", [0, 101, True, "3"])
    def test_refuses_max_attempts_outside_1_to_100(self, attempts: object) -> None:
        with pytest.raises(InvalidRequest):
            checked_max_attempts(attempts)

    def test_an_error_is_kept_as_its_type_and_message_bounded_to_1000_characters(self) -> None:
        assert error_text(ValueError("bad\x00 value")) == "ValueError: bad value"
        assert error_text(KeyError()) == "KeyError"
        assert len(error_text(RuntimeError("x" * 5000))) == 1000


class TestRegistry:
    def test_finds_the_handler_of_a_kind_and_none_for_others(self) -> None:
        registry = JobRegistry()
        registry.register("a.job", nothing)

        assert registry.handler("a.job") is nothing
        assert registry.handler("b.job") is None
        assert registry.kinds == ("a.job",)

    def test_refuses_a_kind_registered_twice(self) -> None:
        registry = JobRegistry()
        registry.register("a.job", nothing)

        with pytest.raises(ValueError, match="registered twice"):
            registry.register("a.job", nothing)

    def test_schedules_only_registered_kinds_in_whole_seconds(self) -> None:
        registry = JobRegistry()
        registry.register("a.job", nothing)

        with pytest.raises(ValueError, match="no handler"):
            registry.schedule("b.job", every=timedelta(minutes=1))
        with pytest.raises(ValueError, match="whole number of seconds"):
            registry.schedule("a.job", every=timedelta(milliseconds=1500))
        with pytest.raises(ValueError, match="whole number of seconds"):
            registry.schedule("a.job", every=timedelta(0))
        registry.schedule("a.job", every=timedelta(minutes=1), payload={"n": 1})
        with pytest.raises(ValueError, match="scheduled twice"):
            registry.schedule("a.job", every=timedelta(minutes=2))

        assert [(s.kind, s.every, dict(s.payload)) for s in registry.schedules] == [
            ("a.job", timedelta(minutes=1), {"n": 1})
        ]

    def test_refuses_a_kind_that_breaks_the_naming_rule(self) -> None:
        with pytest.raises(InvalidRequest):
            JobRegistry().register("Not A Kind", nothing)
