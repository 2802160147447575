"""Which readings a session is billed from: bounds, the trusted register, the stop's verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evbilling.charging.domain import (
    MAX_REGISTER_WH,
    REVIEW_ANOMALY_KINDS,
    Anomaly,
    AnomalyKind,
    RegisterReading,
    printable_id_tag,
    register_resolution_wh,
    register_wh,
)
from evbilling.charging.plausibility import (
    advance_register,
    check_after_end,
    check_reading_time,
    conflicting_stop,
    judge_stop,
    stop_key,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVSE_22_KW = 22_000


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def reading(minutes: float, wh: int, resolution_wh: int = 1) -> RegisterReading:
    return RegisterReading(timestamp=at(minutes), wh=wh, resolution_wh=resolution_wh)


def kind_of(result: object) -> AnomalyKind:
    assert isinstance(result, Anomaly), result
    return result.kind


class TestRegisterBounds:
    @pytest.mark.parametrize(
        ("value", "unit"),
        [
            ("1e300", None),
            ("1e300", "kWh"),
            ("9223372036854775807", "Wh"),
            ("1000000000001", "Wh"),
            ("1000000001", "kWh"),
            ("-1", "Wh"),
            ("-1e300", "kWh"),
            ("1E+999999999", "Wh"),
        ],
    )
    def test_a_register_no_meter_can_hold_is_an_anomaly(self, value: str, unit: str) -> None:
        assert kind_of(register_wh(value=value, unit=unit)) is AnomalyKind.BEYOND_METER_CAPACITY

    @pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity", "inf", "", "x"])
    def test_a_register_that_is_no_finite_number_is_unreadable(self, value: str) -> None:
        assert kind_of(register_wh(value=value, unit="Wh")) is AnomalyKind.UNREADABLE_VALUE

    def test_the_largest_register_a_meter_holds_is_read(self) -> None:
        assert register_wh(value=str(MAX_REGISTER_WH), unit="Wh") == 10**12
        assert register_wh(value="1000000000", unit="kWh") == 10**12
        assert register_wh(value="0", unit="kWh") == 0

    def test_the_anomaly_quotes_a_long_value_clipped(self) -> None:
        anomaly = register_wh(value="9" * 5000, unit="Wh")

        assert isinstance(anomaly, Anomaly)
        assert anomaly.value is not None
        assert len(anomaly.value) <= 100
        assert len(anomaly.detail) < 200

    @pytest.mark.parametrize(
        ("value", "resolution"), [("1E+999999999", 1000), ("0E-999999999", 1), ("1e-30", 1)]
    )
    def test_a_resolution_from_an_extreme_exponent_stays_bounded(
        self, value: str, resolution: int
    ) -> None:
        assert register_resolution_wh(value=value, unit="kWh") == resolution


class TestTrustedRegister:
    def test_a_plausible_reading_becomes_the_trusted_register(self) -> None:
        trusted, anomaly = advance_register(
            trusted=reading(0, 1000), reading=reading(30, 6000), max_power_w=EVSE_22_KW
        )

        assert anomaly is None
        assert trusted == reading(30, 6000)

    def test_a_jump_beyond_the_evse_power_is_an_anomaly_and_not_trusted(self) -> None:
        # 1,000 kWh in 2 minutes on a 22 kW EVSE.
        trusted, anomaly = advance_register(
            trusted=reading(30, 6000), reading=reading(32, 1_006_000), max_power_w=EVSE_22_KW
        )

        assert kind_of(anomaly) is AnomalyKind.IMPLAUSIBLE_JUMP
        assert trusted == reading(30, 6000)

    def test_after_a_jump_the_next_reading_is_judged_from_the_last_plausible_one(self) -> None:
        trusted, _ = advance_register(
            trusted=reading(30, 6000), reading=reading(32, 1_006_000), max_power_w=EVSE_22_KW
        )

        trusted, anomaly = advance_register(
            trusted=trusted, reading=reading(33, 6500), max_power_w=EVSE_22_KW
        )

        assert anomaly is None
        assert trusted == reading(33, 6500)

    def test_a_decrease_is_an_anomaly_and_keeps_the_higher_register(self) -> None:
        trusted, anomaly = advance_register(
            trusted=reading(30, 6000), reading=reading(31, 5000), max_power_w=EVSE_22_KW
        )

        assert kind_of(anomaly) is AnomalyKind.REGISTER_DECREASED
        assert trusted == reading(30, 6000)

    def test_a_lower_kwh_reading_within_its_precision_keeps_the_higher_register(self) -> None:
        trusted, anomaly = advance_register(
            trusted=reading(0, 12_345), reading=reading(1, 12_340, 10), max_power_w=EVSE_22_KW
        )

        assert anomaly is None
        assert trusted == reading(0, 12_345)

    def test_a_late_reading_above_the_trusted_register_contradicts_it(self) -> None:
        trusted, anomaly = advance_register(
            trusted=reading(30, 6000), reading=reading(20, 7000), max_power_w=EVSE_22_KW
        )

        assert kind_of(anomaly) is AnomalyKind.REGISTER_DECREASED
        assert trusted == reading(30, 6000)

    def test_a_late_reading_below_the_trusted_register_is_simply_older(self) -> None:
        trusted, anomaly = advance_register(
            trusted=reading(30, 6000), reading=reading(20, 4000), max_power_w=EVSE_22_KW
        )

        assert (trusted, anomaly) == (reading(30, 6000), None)

    def test_a_reading_days_ahead_of_the_server_and_the_session_is_not_trusted(self) -> None:
        far = datetime(9999, 12, 31, tzinfo=UTC)

        anomaly = check_reading_time(timestamp=far, started_at=at(0), now=at(5))

        assert kind_of(anomaly) is AnomalyKind.READING_IN_FUTURE

    def test_a_reading_ahead_of_the_server_but_near_its_session_start_is_trusted(self) -> None:
        # A simulator runs its own, faster clock: its session started "in the future" too.
        assert check_reading_time(timestamp=at(600), started_at=at(480), now=at(5)) is None
        assert check_reading_time(timestamp=at(300), started_at=at(0), now=at(0)) is None


class TestReadingsAfterTheEnd:
    END = reading(60, 13_500)

    def test_the_same_register_after_the_end_agrees(self) -> None:
        assert check_after_end(end=self.END, reading=reading(61, 13_500)) is None

    def test_a_lower_register_before_the_end_agrees(self) -> None:
        assert check_after_end(end=self.END, reading=reading(30, 6000)) is None

    @pytest.mark.parametrize(
        ("minutes", "wh"), [(61, 14_500), (61, 12_000), (30, 14_000), (60, 13_600)]
    )
    def test_a_register_the_end_does_not_allow_contradicts_the_stop(
        self, minutes: float, wh: int
    ) -> None:
        anomaly = check_after_end(end=self.END, reading=reading(minutes, wh))

        assert kind_of(anomaly) is AnomalyKind.CONTRADICTS_STOP

    def test_a_kwh_reading_after_the_end_is_compared_in_its_precision(self) -> None:
        assert check_after_end(end=self.END, reading=reading(61, 13_500, 100)) is None
        assert check_after_end(end=reading(60, 13_460), reading=reading(61, 13_500, 100)) is None


class TestJudgeStop:
    def judge(
        self, *, stop: int, trusted: RegisterReading, start: int = 1000
    ) -> tuple[int, list[AnomalyKind]]:
        return self.judge_at(32, stop=stop, trusted=trusted, start=start)

    def judge_at(
        self, minutes: float, *, stop: int, trusted: RegisterReading, start: int = 1000
    ) -> tuple[int, list[AnomalyKind]]:
        judgement = judge_stop(
            started_at=at(0),
            meter_start_wh=start,
            trusted=trusted,
            stop=reading(minutes, stop),
            max_power_w=EVSE_22_KW,
        )
        return judgement.billed_end_wh, [a.kind for a in judgement.anomalies]

    def test_a_plausible_meter_stop_is_billed(self) -> None:
        assert self.judge(stop=6500, trusted=reading(30, 6000)) == (6500, [])

    def test_meter_stop_at_int64_max_bills_up_to_the_last_plausible_reading(self) -> None:
        assert self.judge(stop=2**63 - 1, trusted=reading(30, 6000)) == (
            6000,
            [AnomalyKind.BEYOND_METER_CAPACITY],
        )

    def test_a_thousand_kwh_in_two_minutes_bills_up_to_the_last_plausible_reading(
        self,
    ) -> None:
        assert self.judge(stop=1_006_000, trusted=reading(30, 6000)) == (
            6000,
            [AnomalyKind.IMPLAUSIBLE_JUMP],
        )

    def test_a_meter_stop_below_the_trusted_register_bills_up_to_that_register(self) -> None:
        assert self.judge(stop=5000, trusted=reading(30, 6000)) == (
            6000,
            [AnomalyKind.REGISTER_DECREASED],
        )

    def test_a_meter_stop_below_meter_start_bills_up_to_the_last_plausible_reading(self) -> None:
        assert self.judge(stop=10, trusted=reading(30, 6000)) == (
            6000,
            [AnomalyKind.STOP_BEFORE_START],
        )
        assert self.judge(stop=10, trusted=reading(0, 1000)) == (
            1000,
            [AnomalyKind.STOP_BEFORE_START],
        )

    def test_a_meter_start_no_meter_can_hold_bills_no_energy(self) -> None:
        assert self.judge(stop=2**63 - 1, start=2**63 - 2, trusted=reading(0, 2**63 - 2)) == (
            2**63 - 2,
            [AnomalyKind.BEYOND_METER_CAPACITY],
        )

    def test_a_wh_meter_stop_after_a_two_decimal_kwh_reading_is_no_decrease(self) -> None:
        # "12.35" kWh = 12,350 Wh +- 10; meterStop 12,346 Wh is the same register.
        assert self.judge(stop=12_346, start=12_345, trusted=reading(30, 12_350, 10)) == (
            12_346,
            [],
        )

    def test_without_the_readings_precision_the_same_stop_would_be_a_decrease(self) -> None:
        assert self.judge(stop=12_346, start=12_345, trusted=reading(30, 12_350)) == (
            12_350,
            [AnomalyKind.REGISTER_DECREASED],
        )

    def test_a_meter_stop_above_a_later_reading_bills_that_reading(self) -> None:
        assert self.judge(stop=7000, trusted=reading(33, 6000)) == (
            6000,
            [AnomalyKind.REGISTER_DECREASED],
        )
        assert self.judge(stop=5000, trusted=reading(33, 6000)) == (5000, [])

    def test_a_stop_timestamped_before_the_start_is_judged_by_its_values(self) -> None:
        # Only the clock is wrong: the register went from 1,000 to 5,000 Wh.
        assert self.judge_at(-10, stop=5000, trusted=reading(0, 1000)) == (5000, [])
        assert self.judge_at(-10, stop=5000, trusted=reading(30, 6000)) == (
            6000,
            [AnomalyKind.REGISTER_DECREASED],
        )


class TestSecondStop:
    def test_a_replay_has_the_same_key_and_another_account_another(self) -> None:
        key = stop_key(meter_stop_wh=8000, timestamp=at(60))

        assert stop_key(meter_stop_wh=8000, timestamp=at(60)) == key
        assert stop_key(meter_stop_wh=9999, timestamp=at(60)) != key
        assert stop_key(meter_stop_wh=8000, timestamp=at(61)) != key

    def test_a_conflicting_stop_keeps_both_accounts(self) -> None:
        anomaly = conflicting_stop(
            ended_at=at(60), billed_stop_wh=8000, meter_stop_wh=9999, timestamp=at(90)
        )

        assert anomaly.kind is AnomalyKind.CONFLICTING_STOP
        assert "9999" in anomaly.detail
        assert "8000" in anomaly.detail
        assert anomaly.value == f"9999@{at(90).isoformat()}"


class TestReview:
    def test_anomalies_that_change_what_is_billed_mark_the_session_for_review(self) -> None:
        assert {
            AnomalyKind.IMPLAUSIBLE_JUMP,
            AnomalyKind.BEYOND_METER_CAPACITY,
            AnomalyKind.REGISTER_DECREASED,
            AnomalyKind.STOP_BEFORE_START,
            AnomalyKind.CONTRADICTS_STOP,
            AnomalyKind.CONFLICTING_STOP,
            AnomalyKind.CLOCK_SKEW,
            AnomalyKind.SESSION_SUPERSEDED,
            AnomalyKind.SESSION_ABANDONED,
        } == REVIEW_ANOMALY_KINDS

    def test_evidence_that_is_only_left_out_does_not(self) -> None:
        assert AnomalyKind.UNREADABLE_VALUE not in REVIEW_ANOMALY_KINDS
        assert AnomalyKind.UNKNOWN_UNIT not in REVIEW_ANOMALY_KINDS
        assert AnomalyKind.READING_IN_FUTURE not in REVIEW_ANOMALY_KINDS


class TestStopIdTag:
    def test_a_printable_id_tag_is_normalised(self) -> None:
        assert printable_id_tag(" 04a1b2 ") == "04A1B2"

    @pytest.mark.parametrize("id_tag", ["AB\x00C", "AB\nC", "\x00", "   ", "A" * 21])
    def test_an_id_tag_no_token_can_have_is_none(self, id_tag: str) -> None:
        assert printable_id_tag(id_tag) is None
