"""Connectors kept for remote starts: planned sessions never land on them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from evbilling.simulator import (
    InvalidSimulationConfig,
    ScaledClock,
    SimulatedStationConfig,
    SimulationSettings,
)
from evbilling.simulator.sessions import ConnectorSessions

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _sessions(config: SimulatedStationConfig, *, planned: int) -> ConnectorSessions:
    # The schedule reads only the station's config and settings.
    return ConnectorSessions(
        config=config,
        settings=SimulationSettings(sessions_per_station=planned),
        clock=ScaledClock(origin=AT, time_scale=60.0, monotonic=lambda: 0.0),
        channel=cast(Any, None),
        configuration=cast(Any, None),
        shutdown=asyncio.Event(),
    )


class TestRemoteOnlyConnectors:
    def test_planned_sessions_go_to_the_other_connectors(self) -> None:
        config = SimulatedStationConfig(
            station_id="S1",
            password=None,
            connectors=3,
            id_tags=("A", "B"),
            remote_only=frozenset({2}),
        )

        schedule = _sessions(config, planned=6).schedule()

        assert sorted(c.connector_id for c in schedule) == [1, 3]
        assert sum(len(tags) for tags in schedule.values()) == 6

    def test_without_remote_only_every_connector_takes_planned_sessions(self) -> None:
        config = SimulatedStationConfig(station_id="S1", password=None, id_tags=("A",))

        schedule = _sessions(config, planned=4).schedule()

        assert sorted(c.connector_id for c in schedule) == [1, 2]

    @pytest.mark.parametrize("remote_only", [{3}, {0}, {1, 2}])
    def test_refuses_unknown_connectors_or_none_left_for_planned_sessions(
        self, remote_only: set[int]
    ) -> None:
        with pytest.raises(InvalidSimulationConfig):
            SimulatedStationConfig(
                station_id="S1",
                password=None,
                connectors=2,
                id_tags=("A",),
                remote_only=frozenset(remote_only),
            )
