"""A station charges over OCPP 1.6J against a real server; sessions are stored and priced."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from evbilling.charging.sessions import get_session
from evbilling.infra.context import ServiceContext
from evbilling.models import ChargingSession, ConnectorStatusEvent, MeterValueRecord, Station
from tests.factories import create_station, create_tariff, create_token
from tests.functional.charger import charger, ts
from tests.functional.conftest import LiveServer


async def count(context: ServiceContext, model: type) -> int:
    async with context.unit_of_work() as db:
        return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def setup_site(context: ServiceContext, operator_id: int) -> None:
    tariff = await create_tariff(context, operator_id=operator_id)
    await create_station(context, operator_id=operator_id, tariff_id=tariff)
    await create_token(context, operator_id=operator_id, uid="04A1B2C3D4")


class TestChargingSession:
    async def test_bills_a_session_from_start_to_stop(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            boot = await station.boot()
            started = await station.start_tx(meter_start=1000, minutes=0)
            await station.meter(started.transaction_id, 6000, minutes=30)
            await station.meter(started.transaction_id, 11000, minutes=60)
            stopped = await station.stop_tx(started.transaction_id, 13500, minutes=75)

        assert boot.status == "Accepted"
        assert boot.interval == 300
        assert started.id_tag_info["status"] == "Accepted"
        assert stopped.id_tag_info["status"] == "Accepted"
        async with context.unit_of_work() as db:
            detail = await get_session(
                db=db, operator_id=operator_id, session_id=started.transaction_id
            )
        assert detail.status == "completed"
        assert detail.energy_wh == 12_500
        assert detail.duration_s == 75 * 60
        # 12.5 kWh x 0.30 = 3.75, + 1.00 session fee = 4.75 excl.; 20 % VAT = 0.95 -> 5.70
        assert detail.cost_excl_vat == Decimal("4.75")
        assert detail.cost_vat == Decimal("0.95")
        assert detail.cost_incl_vat == Decimal("5.70")
        assert detail.cost_breakdown is not None
        lines = detail.cost_breakdown["lines"]
        assert [(line["kind"], line["amount_excl_vat"]) for line in lines] == [
            ("FLAT", "1.00"),
            ("ENERGY", "3.75"),
        ]
        assert len(detail.meter_samples) == 6
        assert detail.anomalies == ()

    async def test_records_boot_details_and_status_history(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            await station.boot()
            from ocpp.v16 import call

            await station.call(
                call.StatusNotification(
                    connector_id=1, error_code="NoError", status="Preparing", timestamp=ts(1)
                )
            )
            await station.call(
                call.StatusNotification(
                    connector_id=1, error_code="NoError", status="Charging", timestamp=ts(2)
                )
            )
            heartbeat = await station.call(call.Heartbeat())

        assert heartbeat.current_time.startswith(str(context.clock.now().year))
        async with context.unit_of_work() as db:
            row = (await db.execute(select(Station))).scalar_one()
            history = list(
                (
                    await db.execute(
                        select(ConnectorStatusEvent.status).order_by(ConnectorStatusEvent.timestamp)
                    )
                ).scalars()
            )
        assert (row.vendor, row.model, row.registration_status) == ("Acme", "Volt 22", "Accepted")
        assert row.last_heartbeat_at == context.clock.now()
        assert history == ["Preparing", "Charging"]


class TestTokens:
    async def test_blocked_expired_and_unknown_tokens_never_get_a_billable_session(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        await create_token(
            context, operator_id=operator_id, uid="BLOCKED1", status="blocked", driver_name=None
        )
        await create_token(
            context,
            operator_id=operator_id,
            uid="EXPIRED1",
            driver_name=None,
            expires_at=context.clock.now() - timedelta(days=1),
        )
        async with charger(live_server) as station:
            blocked = await station.start_tx("BLOCKED1", connector_id=1, minutes=0)
            expired = await station.start_tx("EXPIRED1", connector_id=2, minutes=1)
            unknown = await station.start_tx("NOBODY", connector_id=1, minutes=2)
            await station.stop_tx(blocked.transaction_id, 2000, minutes=3, id_tag=None)

        statuses = [r.id_tag_info["status"] for r in (blocked, expired, unknown)]
        assert statuses == ["Blocked", "Expired", "Invalid"]
        async with context.unit_of_work() as db:
            rows = list((await db.execute(select(ChargingSession))).scalars())
        assert len({r.id for r in rows}) == 3
        assert all(not r.billable and r.status == "rejected" for r in rows)
        assert all(r.cost_incl_vat is None for r in rows)

    async def test_concurrent_transaction_answers_only_a_start_never_an_authorize(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        from ocpp.v16 import call

        async with charger(live_server) as station:
            before = await station.call(call.Authorize(id_tag="04a1b2c3d4"))
            await station.start_tx(minutes=0)
            during = await station.call(call.Authorize(id_tag="04A1B2C3D4"))
            second_start = await station.start_tx(connector_id=2, minutes=1)

        assert before.id_tag_info["status"] == "Accepted"
        assert during.id_tag_info["status"] == "Accepted"
        assert second_start.id_tag_info["status"] == "ConcurrentTx"


class TestReplays:
    async def test_replayed_start_returns_the_same_transaction(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            first = await station.start_tx(meter_start=500, minutes=0)
        async with charger(live_server) as station:  # reconnect, resend
            again = await station.start_tx(meter_start=500, minutes=0)

        assert again.transaction_id == first.transaction_id
        assert await count(context, ChargingSession) == 1

    async def test_replayed_meter_values_and_stop_change_nothing(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=0, minutes=0)
            await station.meter(started.transaction_id, 5000, minutes=30)
            await station.meter(started.transaction_id, 5000, minutes=30)
            await station.stop_tx(started.transaction_id, 8000, minutes=60)
            readings_after_stop = await count(context, MeterValueRecord)
            await station.stop_tx(started.transaction_id, 9999, minutes=90)
            await station.meter(started.transaction_id, 5000, minutes=30)

        async with context.unit_of_work() as db:
            detail = await get_session(
                db=db, operator_id=operator_id, session_id=started.transaction_id
            )
        assert readings_after_stop == 1
        assert await count(context, MeterValueRecord) == 1
        assert len(detail.meter_samples) == 3
        assert detail.meter_stop_wh == 8000
        assert detail.energy_wh == 8000

    async def test_stop_naming_another_stations_transaction_closes_nothing(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        await create_station(context, operator_id=operator_id, identity="CP-2")
        async with charger(live_server, "CP-1") as victim:
            started = await victim.start_tx(minutes=0)
        async with charger(live_server, "CP-2") as intruder:
            answer = await intruder.stop_tx(started.transaction_id, 99_999, minutes=5)
            await intruder.meter(started.transaction_id, 50_000, minutes=4)

        assert answer.id_tag_info["status"] == "Accepted"
        async with context.unit_of_work() as db:
            row = await db.get(ChargingSession, started.transaction_id)
            attached = await db.scalar(
                select(func.count())
                .select_from(MeterValueRecord)
                .where(MeterValueRecord.session_id == started.transaction_id)
            )
        assert row is not None
        assert row.status == "active"
        assert row.stopped_at is None
        assert attached == 0


class TestMeteringAnomalies:
    async def test_records_register_going_backwards_jumping_and_unknown_unit(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)  # EVSEs of 22 kW
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=10_000, minutes=0)
            await station.meter(started.transaction_id, 15_000, minutes=30)
            await station.meter(started.transaction_id, 14_000, minutes=31)  # backwards
            await station.meter(started.transaction_id, 90_000, minutes=32)  # 75 kWh in 2 min
            await station.meter(started.transaction_id, 17, minutes=33, unit="varh")

        async with context.unit_of_work() as db:
            detail = await get_session(
                db=db, operator_id=operator_id, session_id=started.transaction_id
            )
        kinds = [a.kind for a in detail.anomalies]
        assert kinds == ["register_decreased", "implausible_jump", "unknown_unit"]
        assert len(detail.meter_samples) == 12  # every sample is kept for review

    async def test_a_kwh_register_within_its_precision_raises_no_anomaly(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        await setup_site(context, operator_id)
        from ocpp.v16 import call

        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=12_345, minutes=0)
            for minute, kwh in ((1, "12.34"), (2, "12.34"), (3, "12.35")):
                await station.call(
                    call.MeterValues(
                        connector_id=1,
                        transaction_id=started.transaction_id,
                        meter_value=[
                            {
                                "timestamp": ts(minute),
                                "sampledValue": [
                                    {
                                        "value": kwh,
                                        "measurand": "Energy.Active.Import.Register",
                                        "unit": "kWh",
                                    }
                                ],
                            }
                        ],
                    )
                )
            await station.stop_tx(started.transaction_id, 12_400, minutes=4)

        async with context.unit_of_work() as db:
            detail = await get_session(
                db=db, operator_id=operator_id, session_id=started.transaction_id
            )
        assert detail.anomalies == ()
        assert detail.energy_wh == 55


class TestLogs:
    async def test_rfid_uids_never_appear_in_the_servers_logs(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        await setup_site(context, operator_id)
        caplog.set_level(logging.DEBUG)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=0, minutes=0)
            await station.stop_tx(started.transaction_id, 1000, minutes=5)
            # An over-long idTag is rejected; its value must not be logged either.
            await station._connection.send(
                '[2,"bad","Authorize",{"idTag":"04A1B2C3D4A1B2C3D4A1B2C3D4"}]'
            )
            await asyncio.sleep(0.2)

        server_lines = [r.getMessage() for r in caplog.records if r.name.startswith("evbilling")]
        assert any("session.started" in line for line in server_lines)
        assert not any("04A1B2C3D4" in line for line in server_lines)
