"""A start a station reports late (it was offline) is priced with the tariff version in
force when it started, not one published meanwhile (real WebSocket, both databases)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from evbilling.charging.sessions import get_session
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.tariffs import service as tariffs
from tests.factories import create_station, create_tariff, create_token
from tests.functional.charger import T0, charger
from tests.functional.conftest import LiveServer


class TestLateStart:
    async def test_an_offline_start_reported_after_a_new_version_keeps_the_old_price(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        clock: FixedClock,
    ) -> None:
        # Arrange: version 1 (0.30/kWh + 1.00) at 09:00; the station goes offline, charges
        # from 10:00 to 10:30; at 11:00 version 2 (0.99/kWh + 5.00) is published.
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        clock.current = T0 + timedelta(hours=2)
        async with context.unit_of_work() as db:
            await tariffs.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=tariff,
                now=clock.now(),
                ocpi=tariffs.simple_tariff_ocpi(
                    currency="EUR",
                    energy_price_per_kwh=Decimal("0.99"),
                    session_fee=Decimal("5.00"),
                    vat_percent=Decimal(20),
                ),
            )
            await db.commit()

        # Act: back online at 11:00+, the station sends what it queued, then charges anew.
        clock.current = T0 + timedelta(hours=2, minutes=5)
        async with charger(live_server) as station:
            offline = await station.start_tx(meter_start=0, minutes=60)
            await station.stop_tx(offline.transaction_id, 10_000, minutes=90)
            online = await station.start_tx(meter_start=10_000, minutes=125)
            await station.stop_tx(online.transaction_id, 20_000, minutes=185)
        async with context.unit_of_work() as db:
            first = await get_session(db=db, operator_id=operator_id, session_id=1)
            second = await get_session(db=db, operator_id=operator_id, session_id=2)

        # Assert
        assert (first.tariff_version, first.cost_excl_vat) == (1, Decimal("4.00"))
        assert (second.tariff_version, second.cost_excl_vat) == (2, Decimal("14.90"))
