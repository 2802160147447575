"""Pure charging rules: token decisions, replay keys, meter plausibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evbilling.charging.domain import (
    Anomaly,
    AnomalyKind,
    AuthorizationStatus,
    RegisterReading,
    TokenFacts,
    authorize_token,
    check_register_step,
    register_resolution_wh,
    register_wh,
    start_key,
)
from evbilling.drivers.domain import TokenStatus

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def token(**changes: object) -> TokenFacts:
    values: dict[str, object] = {
        "status": TokenStatus.ACTIVE,
        "expires_at": None,
        "has_active_session": False,
    }
    values.update(changes)
    return TokenFacts(**values)  # type: ignore[arg-type]


class TestAuthorizeToken:
    def test_accepts_an_active_unexpired_token(self) -> None:
        assert (
            authorize_token(token=token(), now=NOW, starting=True) is AuthorizationStatus.ACCEPTED
        )

    def test_unknown_token_is_invalid(self) -> None:
        assert authorize_token(token=None, now=NOW, starting=True) is AuthorizationStatus.INVALID

    def test_blocked_wins_over_expired(self) -> None:
        facts = token(status=TokenStatus.BLOCKED, expires_at=NOW - timedelta(days=1))
        assert authorize_token(token=facts, now=NOW, starting=True) is AuthorizationStatus.BLOCKED

    def test_expires_at_the_instant_of_expiry(self) -> None:
        assert (
            authorize_token(token=token(expires_at=NOW), now=NOW, starting=True)
            is AuthorizationStatus.EXPIRED
        )

    def test_a_start_with_a_card_already_charging_is_concurrent(self) -> None:
        facts = token(has_active_session=True)
        status = authorize_token(token=facts, now=NOW, starting=True)
        assert status is AuthorizationStatus.CONCURRENT_TX

    def test_an_authorize_is_never_answered_concurrent(self) -> None:
        facts = token(has_active_session=True)
        status = authorize_token(token=facts, now=NOW, starting=False)
        assert status is AuthorizationStatus.ACCEPTED

    def test_an_authorize_still_refuses_blocked_and_expired_cards(self) -> None:
        blocked = token(status=TokenStatus.BLOCKED, has_active_session=True)
        expired = token(expires_at=NOW, has_active_session=True)
        assert (
            authorize_token(token=blocked, now=NOW, starting=False) is AuthorizationStatus.BLOCKED
        )
        assert (
            authorize_token(token=expired, now=NOW, starting=False) is AuthorizationStatus.EXPIRED
        )


class TestStartKey:
    def test_same_start_in_another_case_of_id_tag_is_the_same_start(self) -> None:
        first = start_key(
            station_id=1, connector_id=1, id_tag="04ab", meter_start_wh=5, timestamp=NOW
        )
        again = start_key(
            station_id=1, connector_id=1, id_tag="04AB", meter_start_wh=5, timestamp=NOW
        )
        assert first == again

    def test_a_different_meter_start_is_a_different_start(self) -> None:
        first = start_key(station_id=1, connector_id=1, id_tag="A", meter_start_wh=5, timestamp=NOW)
        other = start_key(station_id=1, connector_id=1, id_tag="A", meter_start_wh=6, timestamp=NOW)
        assert first != other


class TestRegisterReadings:
    def test_reads_kwh_as_whole_wh(self) -> None:
        assert register_wh(value="12.3456", unit="kWh") == 12346

    def test_unit_defaults_to_wh(self) -> None:
        assert register_wh(value="1500", unit=None) == 1500

    def test_an_energy_register_in_a_power_unit_is_an_anomaly(self) -> None:
        result = register_wh(value="1500", unit="W")
        assert isinstance(result, Anomaly)
        assert result.kind is AnomalyKind.UNKNOWN_UNIT

    def test_a_register_going_backwards_is_an_anomaly(self) -> None:
        anomaly = check_register_step(
            previous=RegisterReading(timestamp=NOW, wh=1000),
            current=RegisterReading(timestamp=NOW + timedelta(seconds=60), wh=999),
            max_power_w=22_000,
        )
        assert anomaly is not None
        assert anomaly.kind is AnomalyKind.REGISTER_DECREASED

    def test_a_kwh_register_is_compared_in_its_own_precision(self) -> None:
        # meterStart 12,345 Wh, then the meter reports 12.34 kWh: 12,340..12,349 Wh.
        anomaly = check_register_step(
            previous=RegisterReading(timestamp=NOW, wh=12_345),
            current=RegisterReading(
                timestamp=NOW + timedelta(seconds=60),
                wh=12_340,
                resolution_wh=register_resolution_wh(value="12.34", unit="kWh"),
            ),
            max_power_w=22_000,
        )
        assert anomaly is None

    def test_a_decrease_beyond_the_meters_precision_is_still_an_anomaly(self) -> None:
        anomaly = check_register_step(
            previous=RegisterReading(timestamp=NOW, wh=12_345),
            current=RegisterReading(
                timestamp=NOW + timedelta(seconds=60), wh=12_330, resolution_wh=10
            ),
            max_power_w=22_000,
        )
        assert anomaly is not None
        assert anomaly.kind is AnomalyKind.REGISTER_DECREASED

    @pytest.mark.parametrize(
        ("value", "unit", "resolution"),
        [
            ("12.34", "kWh", 10),
            ("12.3", "kWh", 100),
            ("12.345", "kWh", 1),
            ("12.3456", "kWh", 1),
            ("12345", "Wh", 1),
            ("12345.5", "Wh", 1),
            ("12", "kWh", 1000),
            ("1E+6", "kWh", 1000),
            ("1E+6", "Wh", 1000),
            ("NaN", "Wh", 1),
            ("x", "Wh", 1),
            ("12.34", "W", 1),
        ],
    )
    def test_resolution_comes_from_the_digits_sent(
        self, value: str, unit: str, resolution: int
    ) -> None:
        assert register_resolution_wh(value=value, unit=unit) == resolution

    def test_growth_within_the_evse_power_is_plausible(self) -> None:
        # 22 kW for 10 minutes = 3,667 Wh
        anomaly = check_register_step(
            previous=RegisterReading(timestamp=NOW, wh=0),
            current=RegisterReading(timestamp=NOW + timedelta(minutes=10), wh=3_667),
            max_power_w=22_000,
        )
        assert anomaly is None

    def test_growth_beyond_the_evse_power_is_an_implausible_jump(self) -> None:
        anomaly = check_register_step(
            previous=RegisterReading(timestamp=NOW, wh=0),
            current=RegisterReading(timestamp=NOW + timedelta(minutes=10), wh=5_000),
            max_power_w=22_000,
        )
        assert anomaly is not None
        assert anomaly.kind is AnomalyKind.IMPLAUSIBLE_JUMP
