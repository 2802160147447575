"""Evidence never blocks billing: absurd readings are anomalies, never billed, never a failure;
a schema-valid StopTransaction always closes its session (real server, real WebSocket)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from ocpp.v16 import call
from sqlalchemy import func, select

from evbilling.charging.schemas import SessionDetailRead
from evbilling.charging.sessions import get_session
from evbilling.infra.context import ServiceContext
from evbilling.models import ChargingSession, MeterValueRecord
from tests.functional.charger import TestCharger, charger, raw_call, ts
from tests.functional.conftest import LiveServer, connect
from tests.functional.test_ocpp_charging import setup_site

# The site's tariff: 0.30 per kWh + 1.00 per session, excl. 20 % VAT; EVSEs of 22 kW.


def incl_vat(kwh: str) -> Decimal:
    return ((Decimal(kwh) * Decimal("0.30") + 1) * Decimal("1.2")).quantize(Decimal("0.01"))


async def detail(context: ServiceContext, operator_id: int, session_id: int) -> SessionDetailRead:
    async with context.unit_of_work() as db:
        return await get_session(db=db, operator_id=operator_id, session_id=session_id)


def kinds(session: SessionDetailRead) -> list[str]:
    return [anomaly.kind for anomaly in session.anomalies]


def register(value: str, minutes: float, **fields: str) -> dict[str, Any]:
    return {"timestamp": ts(minutes), "sampledValue": [{"value": value, **fields}]}


async def stop(
    station: TestCharger,
    transaction_id: int,
    meter_stop: int,
    *,
    minutes: float,
    data: list[dict[str, Any]] | None = None,
    id_tag: str | None = "04A1B2C3D4",
) -> Any:
    return await station.call(
        call.StopTransaction(
            transaction_id=transaction_id, meter_stop=meter_stop, timestamp=station.stamp(minutes),
            id_tag=id_tag, reason="Local", transaction_data=data,
        )
    )  # fmt: skip


async def send_meter_values(
    station: TestCharger, transaction_id: int, *values: dict[str, Any]
) -> Any:
    return await station.call(
        call.MeterValues(connector_id=1, transaction_id=transaction_id, meter_value=list(values))
    )


class TestAbsurdRegisters:
    async def test_transaction_data_of_1e300_is_an_anomaly_and_the_stop_closes_the_session(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            await station.meter(started.transaction_id, 6000, minutes=30)
            stopped = await stop(
                station, started.transaction_id, 6500, minutes=35, data=[register("1e300", 34)]
            )

        session = await detail(context, operator_id, started.transaction_id)
        assert stopped.id_tag_info["status"] == "Accepted"
        assert session.status == "completed"
        assert kinds(session) == ["beyond_meter_capacity"]
        assert session.energy_wh == 5500
        assert session.cost_incl_vat == incl_vat("5.5")

    async def test_meter_stop_at_int64_max_is_billed_up_to_the_last_plausible_reading(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            await station.meter(started.transaction_id, 6000, minutes=30)
            stopped = await stop(station, started.transaction_id, 2**63 - 1, minutes=35)

        session = await detail(context, operator_id, started.transaction_id)
        assert stopped.id_tag_info["status"] == "Accepted"
        assert session.status == "completed"
        assert session.meter_stop_wh == 2**63 - 1  # kept as sent, for review
        assert kinds(session) == ["beyond_meter_capacity"]
        assert session.energy_wh == 5000
        assert session.cost_incl_vat == incl_vat("5")  # not EUR 4.28e15

    async def test_a_thousand_kwh_in_two_minutes_on_22_kw_is_not_billed(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            await station.meter(started.transaction_id, 6000, minutes=30)
            await station.meter(started.transaction_id, 1_006_000, minutes=32)
            await stop(station, started.transaction_id, 1_006_000, minutes=33)

        session = await detail(context, operator_id, started.transaction_id)
        assert session.status == "completed"
        assert kinds(session) == ["implausible_jump", "implausible_jump"]
        assert session.energy_wh == 5000
        assert session.cost_incl_vat == incl_vat("5")  # not EUR 464.70
        assert session.cost_breakdown is not None
        assert Decimal(session.cost_breakdown["total_energy_kwh"]) == 5

    async def test_a_meter_values_register_of_1e300_is_answered_and_moves_nothing(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            await station.meter(started.transaction_id, 6000, minutes=30)
            await send_meter_values(station, started.transaction_id, register("1e300", 31))
            async with context.unit_of_work() as db:
                running = await db.get(ChargingSession, started.transaction_id)
                assert running is not None
                register_after = (running.last_register_wh, running.last_register_at)
            await stop(station, started.transaction_id, 7000, minutes=40)

        session = await detail(context, operator_id, started.transaction_id)
        assert register_after[0] == 6000
        assert kinds(session) == ["beyond_meter_capacity"]
        assert session.energy_wh == 6000

    async def test_negative_unreadable_and_far_future_transaction_data_never_fail_the_stop(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        data = [
            register("-5", 10, unit="kWh"),
            {"timestamp": "9999-12-31T23:59:59Z", "sampledValue": [{"value": "6000"}]},
            register("17", 12, unit="varh", measurand="Energy.Active.Import.Register"),
            register("4000", 20),
        ]
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            stopped = await stop(station, started.transaction_id, 5000, minutes=30, data=data)

        session = await detail(context, operator_id, started.transaction_id)
        assert stopped.id_tag_info["status"] == "Accepted"
        assert session.status == "completed"
        assert sorted(kinds(session)) == [
            "beyond_meter_capacity",
            "reading_in_future",
            "unknown_unit",
        ]
        assert session.energy_wh == 4000

    async def test_a_meter_stop_below_meter_start_bills_up_to_the_last_plausible_reading(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            await station.meter(started.transaction_id, 3000, minutes=10)
            await stop(station, started.transaction_id, 0, minutes=20)

        session = await detail(context, operator_id, started.transaction_id)
        assert session.status == "completed"
        assert kinds(session) == ["meter_stop_below_start"]
        assert session.energy_wh == 2000

    async def test_u0000_in_the_stop_id_tag_is_answered_invalid_and_the_session_closes(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            stopped = await stop(station, started.transaction_id, 2000, minutes=5, id_tag="AB\0C")

        assert stopped.id_tag_info == {"status": "Invalid"}
        async with context.unit_of_work() as db:
            row = await db.get(ChargingSession, started.transaction_id)
        assert row is not None
        assert (row.status, row.energy_wh, row.stop_id_tag) == ("completed", 1000, None)

    async def test_meter_values_for_a_connector_no_station_has_are_refused_and_kept_nowhere(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        connection = await connect(live_server, "CP-1")
        frame = [2, "mv-1", "MeterValues", {"connectorId": 2**31, "meterValue": [register("1", 1)]}]
        answer = await raw_call(connection, orjson.dumps(frame))
        heartbeat = await raw_call(connection, b'[2,"hb-1","Heartbeat",{}]')
        await connection.close()

        assert answer[:3] == [4, "mv-1", "TypeConstraintViolation"]
        assert heartbeat[0] == 3  # the connection stays up
        async with context.unit_of_work() as db:
            stored = await db.scalar(select(func.count()).select_from(MeterValueRecord))
        assert stored == 0


class TestAfterTheStop:
    async def test_readings_after_the_stop_are_checked_and_change_nothing_billed(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            await station.meter(started.transaction_id, 6000, minutes=30)
            await stop(station, started.transaction_id, 6500, minutes=35)
            billed = await detail(context, operator_id, started.transaction_id)
            late = await send_meter_values(
                station,
                started.transaction_id,
                register("6500", 36),  # agrees with the stop
                register("9000", 37),  # energy after the stop
                register("5000", 38),  # a register that went backwards
                register("1e300", 39),
            )

        session = await detail(context, operator_id, started.transaction_id)
        assert late is not None  # answered
        assert kinds(session) == [
            "reading_contradicts_stop",
            "reading_contradicts_stop",
            "beyond_meter_capacity",
        ]
        assert (session.energy_wh, session.cost_incl_vat) == (5500, billed.cost_incl_vat)
        assert session.cost_incl_vat == incl_vat("5.5")
        assert len(session.meter_samples) == len(billed.meter_samples) + 4

    async def test_a_conflicting_second_stop_is_recorded_with_both_values(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            await stop(station, started.transaction_id, 6500, minutes=35)
            billed = await detail(context, operator_id, started.transaction_id)
            second = await stop(station, started.transaction_id, 9000, minutes=50)
            await stop(station, started.transaction_id, 9000, minutes=50)  # its replay

        session = await detail(context, operator_id, started.transaction_id)
        assert second.id_tag_info["status"] == "Accepted"
        assert kinds(session) == ["conflicting_stop"]
        assert "9000 Wh" in session.anomalies[0].detail
        assert "6500 Wh" in session.anomalies[0].detail
        assert (session.meter_stop_wh, session.stopped_at) == (6500, billed.stopped_at)
        assert (session.energy_wh, session.cost_incl_vat) == (5500, billed.cost_incl_vat)

    async def test_an_identical_replay_of_the_stop_changes_nothing(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        data = [register("6300", 34)]
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=1000, minutes=0)
            await stop(station, started.transaction_id, 6500, minutes=35, data=data)
            billed = await detail(context, operator_id, started.transaction_id)
        async with charger(live_server) as station:  # reconnect, resend
            replayed = await stop(station, started.transaction_id, 6500, minutes=35, data=data)

        assert replayed.id_tag_info["status"] == "Accepted"
        assert await detail(context, operator_id, started.transaction_id) == billed
        assert billed.anomalies == ()


class TestMeterPrecision:
    async def test_a_kwh_meter_with_two_decimals_raises_no_false_anomaly_at_the_stop(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=12_345, minutes=0)
            await send_meter_values(
                station,
                started.transaction_id,
                register("12.35", 3, unit="kWh", measurand="Energy.Active.Import.Register"),
            )
            # 12,346 Wh is within 12.35 kWh's ten-Wh step: the same register, not a decrease.
            await stop(station, started.transaction_id, 12_346, minutes=4)

        session = await detail(context, operator_id, started.transaction_id)
        assert session.anomalies == ()
        assert session.energy_wh == 1

    async def test_a_stop_below_a_kwh_reading_by_more_than_its_step_is_still_an_anomaly(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=12_000, minutes=0)
            await send_meter_values(
                station, started.transaction_id, register("12.35", 3, unit="kWh")
            )
            await stop(station, started.transaction_id, 12_300, minutes=4)

        session = await detail(context, operator_id, started.transaction_id)
        assert kinds(session) == ["register_decreased"]
        assert session.energy_wh == 350  # up to the last plausible reading
