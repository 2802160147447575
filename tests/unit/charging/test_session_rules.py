"""Pure session rules: the clock-skew rule, which anomalies put a price under review, and an
operator's reason for closing a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evbilling.charging.domain import (
    REVIEW_ANOMALY_KINDS,
    AnomalyKind,
    PricingStatus,
    end_reason,
    priced_status,
    station_time,
)
from evbilling.kit.errors import InvalidRequest

RECEIVED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class TestStationTime:
    def test_a_timestamp_in_the_past_is_believed_stations_send_offline_transactions_late(
        self,
    ) -> None:
        reported = RECEIVED - timedelta(days=3)

        used, anomaly = station_time(reported=reported, received_at=RECEIVED, what="Start")

        assert (used, anomaly) == (reported, None)

    def test_up_to_five_minutes_ahead_of_the_server_is_believed(self) -> None:
        reported = RECEIVED + timedelta(minutes=5)

        used, anomaly = station_time(reported=reported, received_at=RECEIVED, what="Start")

        assert (used, anomaly) == (reported, None)

    def test_more_than_five_minutes_ahead_is_replaced_by_the_receive_time(self) -> None:
        reported = RECEIVED + timedelta(minutes=5, seconds=1)

        used, anomaly = station_time(reported=reported, received_at=RECEIVED, what="Start")

        assert used == RECEIVED
        assert anomaly is not None
        assert anomaly.kind is AnomalyKind.CLOCK_SKEW
        assert anomaly.timestamp == reported
        assert "ahead of the server" in anomaly.detail

    @pytest.mark.parametrize(
        "reported",
        [datetime(1970, 1, 1, tzinfo=UTC), datetime(2009, 12, 31, 23, 59, 59, tzinfo=UTC)],
    )
    def test_a_clock_that_is_not_set_gives_the_receive_time(self, reported: datetime) -> None:
        used, anomaly = station_time(reported=reported, received_at=RECEIVED, what="Stop")

        assert used == RECEIVED
        assert anomaly is not None
        assert anomaly.value == reported.isoformat()
        assert "before 2010-01-01" in anomaly.detail

    def test_the_first_plausible_instant_is_believed(self) -> None:
        reported = datetime(2010, 1, 1, tzinfo=UTC)

        assert station_time(reported=reported, received_at=RECEIVED, what="Stop") == (
            reported,
            None,
        )

    def test_a_stop_before_its_start_is_replaced_by_the_receive_time(self) -> None:
        started = RECEIVED - timedelta(hours=1)

        used, anomaly = station_time(
            reported=started - timedelta(seconds=1),
            received_at=RECEIVED,
            what="StopTransaction",
            not_before=started,
        )

        assert used == RECEIVED
        assert anomaly is not None
        assert "before the session's start" in anomaly.detail

    def test_a_replaced_stop_never_lands_before_a_start_that_was_ahead(self) -> None:
        # The start was believed at four minutes ahead; the stop's receive time is earlier.
        started = RECEIVED + timedelta(minutes=4)

        used, anomaly = station_time(
            reported=datetime(1970, 1, 1, tzinfo=UTC),
            received_at=RECEIVED,
            what="StopTransaction",
            not_before=started,
        )

        assert used == started
        assert anomaly is not None

    def test_a_stop_equal_to_its_start_is_believed(self) -> None:
        assert station_time(
            reported=RECEIVED, received_at=RECEIVED, what="Stop", not_before=RECEIVED
        ) == (RECEIVED, None)


class TestPricedStatus:
    def test_a_session_without_anomalies_is_priced(self) -> None:
        assert priced_status(anomaly_kinds=set()) is PricingStatus.PRICED

    def test_an_anomaly_that_does_not_change_the_bill_leaves_it_priced(self) -> None:
        kinds = {AnomalyKind.UNKNOWN_UNIT.value, AnomalyKind.UNREADABLE_VALUE.value}

        assert priced_status(anomaly_kinds=kinds) is PricingStatus.PRICED

    @pytest.mark.parametrize("kind", sorted(REVIEW_ANOMALY_KINDS))
    def test_an_anomaly_that_changed_the_bill_puts_it_under_review(self, kind: AnomalyKind) -> None:
        assert priced_status(anomaly_kinds={kind.value}) is PricingStatus.REVIEW

    def test_the_server_ending_a_session_and_clock_skew_need_review(self) -> None:
        assert {
            AnomalyKind.SESSION_SUPERSEDED,
            AnomalyKind.SESSION_ABANDONED,
            AnomalyKind.CLOCK_SKEW,
        } <= REVIEW_ANOMALY_KINDS


class TestEndReason:
    def test_keeps_the_reason_without_surrounding_blanks(self) -> None:
        assert end_reason("  station replaced  ") == "station replaced"

    def test_takes_five_hundred_characters(self) -> None:
        assert end_reason("x" * 500) == "x" * 500

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (None, "a reason is required"),
            ("", "a reason is required"),
            ("   ", "a reason is required"),
            (42, "a reason is required"),
            ("x" * 501, "at most 500 characters"),
            ("line one\nline two", "control characters"),
            ("nul\x00byte", "control characters"),
            ("bell\x07", "control characters"),
            ("next\x85line", "control characters"),
            ("lone \ud800 surrogate", "control characters"),
        ],
    )
    def test_refuses_what_no_operator_means_as_a_reason(self, value: object, message: str) -> None:
        with pytest.raises(InvalidRequest, match=message) as raised:
            end_reason(value)

        assert raised.value.field == "reason"
