"""The cost so far of an active session: the time since the latest reading is priced by the
connector's status, never as parking merely for lack of a reading (both databases)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from tests.factories import create_station, create_tariff, create_token
from tests.functional.charger import T0, charger
from tests.functional.conftest import LiveServer
from tests.functional.test_pricing_integration import api, status

# 0.30/kWh, charging 6.00/h, parking 12.00/h, billed per second; 20 % VAT.
BY_TIME: dict[str, Any] = {
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": kind, "price": Decimal(price), "vat": Decimal(20), "step_size": 1}
                for kind, price in (("ENERGY", "0.30"), ("TIME", "6.00"), ("PARKING_TIME", "12.00"))
            ]
        }
    ],
}


class TestRunningCost:
    @pytest.mark.parametrize(
        ("statuses", "time_cost", "parking_cost", "at_minute"),
        [
            # Charging since the start: 40 min of charging time, the last 30 without a reading.
            ((("Charging", 0),), "4.00", "0.00", 40),
            # The car stopped drawing at minute 20: parking from then on, not from the reading.
            ((("Charging", 0), ("SuspendedEV", 20)), "2.00", "4.00", 40),
            # No status at all: nothing is known after the reading at minute 10.
            ((), "1.00", "0.00", 10),
        ],
    )
    async def test_prices_the_time_since_the_reading_by_the_connector_status(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        api_key: str,
        clock: FixedClock,
        statuses: tuple[tuple[str, int], ...],
        time_cost: str,
        parking_cost: str,
        at_minute: int,
    ) -> None:
        # Arrange
        tariff = await create_tariff(context, operator_id=operator_id, ocpi=BY_TIME)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        async with charger(live_server) as station, api(live_server, api_key) as client:
            started = await station.start_tx(meter_start=0, minutes=0)
            for value, minutes in statuses:
                await status(station, value, minutes)
            await station.meter(started.transaction_id, 3_000, minutes=10)  # 18 kW
            clock.current = T0 + timedelta(minutes=40)

            # Act
            response = await client.get(f"/sessions/{started.transaction_id}/cost")

        # Assert
        assert response.status_code == 200, response.text
        cost = response.json()
        lines = {line["kind"]: line["amount_excl_vat"] for line in cost["breakdown"]["lines"]}
        assert lines.get("TIME", "0.00") == time_cost
        assert lines.get("PARKING_TIME", "0.00") == parking_cost
        assert lines["ENERGY"] == "0.90"
        assert cost["final"] is False
        assert cost["at"].startswith(f"2026-03-02T09:{at_minute:02d}:00")
