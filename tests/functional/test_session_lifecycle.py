"""How sessions end over real OCPP connections: a second start on a busy connector supersedes,
a card charging elsewhere answers ConcurrentTx, transaction ids are the station's own, a silent
session is abandoned and its card charges again; each end is priced once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
from ocpp.v16 import call
from sqlalchemy import func, select

from evbilling.charging.ending import close_abandoned_sessions
from evbilling.infra.context import ServiceContext
from evbilling.models import ChargingSession, MeteringAnomaly, MeterValueRecord
from tests.factories import create_station, create_tariff, create_token
from tests.functional.charger import T0, charger, ts
from tests.functional.conftest import LiveServer

CARD = "04A1B2C3D4"
OTHER_CARD = "04E5F6A7B8"


async def two_stations(context: ServiceContext, operator_id: int) -> tuple[int, int]:
    """CP-1 and CP-2 (two connectors each) on 0.30 EUR/kWh + 1.00 per session + 20 % VAT."""
    tariff = await create_tariff(context, operator_id=operator_id)
    first = await create_station(
        context, operator_id=operator_id, identity="CP-1", tariff_id=tariff
    )
    second = await create_station(
        context, operator_id=operator_id, identity="CP-2", tariff_id=tariff
    )
    await create_token(context, operator_id=operator_id, uid=CARD)
    await create_token(context, operator_id=operator_id, uid=OTHER_CARD, driver_name="Bob")
    return first, second


async def session_of(
    context: ServiceContext, *, station_id: int, transaction_id: int
) -> ChargingSession:
    async with context.unit_of_work() as db:
        return (
            await db.execute(
                select(ChargingSession).where(
                    ChargingSession.station_id == station_id,
                    ChargingSession.transaction_id == transaction_id,
                )
            )
        ).scalar_one()


async def anomaly_kinds(context: ServiceContext, session_id: int) -> list[str]:
    async with context.unit_of_work() as db:
        kinds = await db.execute(
            select(MeteringAnomaly.kind)
            .where(MeteringAnomaly.session_id == session_id)
            .order_by(MeteringAnomaly.id)
        )
        return list(kinds.scalars())


async def active_count(context: ServiceContext) -> int:
    async with context.unit_of_work() as db:
        return int(
            await db.scalar(
                select(func.count())
                .select_from(ChargingSession)
                .where(ChargingSession.status == "active")
            )
            or 0
        )


class TestBusyConnector:
    async def test_a_second_start_on_a_busy_connector_supersedes_the_session_it_still_had(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        cp1, _ = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as station:
            first = await station.start_tx(CARD, meter_start=1000, minutes=0)
            await station.meter(first.transaction_id, 6000, minutes=30)
            # The station lost the first transaction (a reboot) and starts again.
            second = await station.start_tx(CARD, meter_start=6500, minutes=40)

        assert second.id_tag_info["status"] == "Accepted"
        assert second.transaction_id == first.transaction_id + 1
        old = await session_of(context, station_id=cp1, transaction_id=first.transaction_id)
        new = await session_of(context, station_id=cp1, transaction_id=second.transaction_id)
        assert (old.status, new.status) == ("superseded", "active")
        # Billed to its last register reading: 5 kWh x 0.30 + 1.00 = 2.50; 20 % VAT -> 3.00.
        assert (old.stopped_at, old.meter_stop_wh, old.energy_wh) == (
            T0 + timedelta(minutes=30),
            6000,
            5000,
        )
        assert (old.cost_excl_vat, old.cost_incl_vat) == (Decimal("2.50"), Decimal("3.00"))
        assert old.pricing_status == "review"
        assert old.end_reason == f"superseded by transaction {second.transaction_id} on connector 1"
        assert await anomaly_kinds(context, old.id) == ["session_superseded"]
        assert (new.pricing_status, new.meter_start_wh) == ("pending", 6500)
        assert await active_count(context) == 1

    async def test_the_superseded_session_is_billed_once_and_its_late_stop_changes_nothing(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        cp1, _ = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as station:
            first = await station.start_tx(CARD, meter_start=0, minutes=0)
            await station.meter(first.transaction_id, 2000, minutes=10)
            await station.start_tx(OTHER_CARD, meter_start=2100, minutes=15)
            billed = await session_of(context, station_id=cp1, transaction_id=first.transaction_id)
            late = await station.stop_tx(first.transaction_id, 9000, minutes=20, id_tag=CARD)

        after = await session_of(context, station_id=cp1, transaction_id=first.transaction_id)
        assert late.id_tag_info["status"] == "Accepted"
        assert (after.status, after.meter_stop_wh, after.cost_incl_vat) == (
            "superseded",
            2000,
            billed.cost_incl_vat,
        )
        assert after.updated_at == billed.updated_at


class TestCardInUse:
    async def test_a_start_with_a_card_charging_at_another_connector_is_rejected_unbilled(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        cp1, _ = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as station:
            running = await station.start_tx(CARD, connector_id=1, minutes=0)
            refused = await station.start_tx(CARD, connector_id=2, minutes=1)
            await station.stop_tx(refused.transaction_id, 1500, minutes=2, id_tag=None)

        assert refused.id_tag_info["status"] == "ConcurrentTx"
        kept = await session_of(context, station_id=cp1, transaction_id=running.transaction_id)
        rejected = await session_of(context, station_id=cp1, transaction_id=refused.transaction_id)
        assert (kept.status, kept.pricing_status) == ("active", "pending")
        assert (rejected.status, rejected.billable, rejected.pricing_status) == (
            "rejected",
            False,
            "not_billable",
        )
        assert rejected.cost_incl_vat is None


class TestStationScopedTransactionIds:
    async def test_stop_and_meter_values_find_the_session_by_the_stations_own_id(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        cp1, cp2 = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as first:
            on_cp1 = await first.start_tx(CARD, meter_start=0, minutes=0)
        async with charger(live_server, "CP-2") as second:
            on_cp2 = await second.start_tx(OTHER_CARD, meter_start=0, minutes=1)
            await second.meter(on_cp2.transaction_id, 4000, minutes=30)
            await second.stop_tx(on_cp2.transaction_id, 5000, minutes=40, id_tag=OTHER_CARD)

        assert on_cp1.transaction_id == on_cp2.transaction_id == 1
        untouched = await session_of(context, station_id=cp1, transaction_id=1)
        stopped = await session_of(context, station_id=cp2, transaction_id=1)
        assert untouched.id != stopped.id
        assert (untouched.status, untouched.last_register_wh) == ("active", 0)
        assert (stopped.status, stopped.energy_wh, stopped.pricing_status) == (
            "completed",
            5000,
            "priced",
        )
        async with context.unit_of_work() as db:
            attached = await db.scalar(
                select(func.count())
                .select_from(MeterValueRecord)
                .where(MeterValueRecord.session_id == untouched.id)
            )
        assert attached == 0
        async with httpx.AsyncClient(
            base_url=f"{live_server.base_url}/api/v1",
            headers={"Authorization": f"Bearer {api_key}"},
        ) as api:
            read = (await api.get(f"/sessions/{stopped.id}")).json()
        assert (read["id"], read["transaction_id"], read["station_identity"]) == (
            stopped.id,
            1,
            "CP-2",
        )

    async def test_stopping_a_session_through_the_api_names_the_stations_transaction_id(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as first:
            await first.start_tx(CARD, minutes=0)
        async with (
            charger(live_server, "CP-2") as station,
            httpx.AsyncClient(
                base_url=f"{live_server.base_url}/api/v1",
                headers={"Authorization": f"Bearer {api_key}"},
            ) as api,
        ):
            started = await station.start_tx(OTHER_CARD, minutes=1)
            listed = (await api.get("/sessions", params={"status": "active"})).json()
            on_cp2 = next(s for s in listed["items"] if s["station_identity"] == "CP-2")
            response = await api.post(f"/sessions/{on_cp2['id']}/stop")

        assert response.status_code == 200, response.text
        assert on_cp2["id"] != started.transaction_id
        assert ("RemoteStopTransaction", {"transaction_id": started.transaction_id}) in (
            station.received
        )


class TestAbandonedSessions:
    async def test_a_silent_session_is_abandoned_and_its_card_charges_again(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        cp1, cp2 = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as forgetful:
            lost = await forgetful.start_tx(CARD, connector_id=1, meter_start=0, minutes=0)
            await forgetful.meter(lost.transaction_id, 3000, minutes=20, connector_id=1)
            alive = await forgetful.start_tx(OTHER_CARD, connector_id=2, minutes=21)
        async with charger(live_server, "CP-2") as elsewhere:
            blocked = await elsewhere.start_tx(CARD, connector_id=1, minutes=30)
        async with charger(live_server, "CP-1") as forgetful:
            # A day later the second session still reports; the first was never heard of again.
            await forgetful.meter(alive.transaction_id, 900, minutes=24 * 60, connector_id=2)
        live_server.clock.current = T0 + timedelta(hours=25)

        async with context.unit_of_work() as db:
            closed = await close_abandoned_sessions(
                db=db, now=live_server.clock.now(), silent_for=timedelta(hours=24)
            )
            await db.commit()
        async with charger(live_server, "CP-2") as elsewhere:
            again = await elsewhere.start_tx(CARD, connector_id=2, minutes=25 * 60 + 1)

        assert blocked.id_tag_info["status"] == "ConcurrentTx"
        assert closed == 1
        abandoned = await session_of(context, station_id=cp1, transaction_id=lost.transaction_id)
        assert abandoned.status == "abandoned"
        assert (abandoned.stopped_at, abandoned.energy_wh) == (T0 + timedelta(minutes=20), 3000)
        # 3 kWh x 0.30 + 1.00 = 1.90; 20 % VAT -> 2.28
        assert abandoned.cost_incl_vat == Decimal("2.28")
        assert abandoned.pricing_status == "review"
        assert abandoned.end_reason is not None
        assert "no message" in abandoned.end_reason
        assert await anomaly_kinds(context, abandoned.id) == ["session_abandoned"]
        still = await session_of(context, station_id=cp1, transaction_id=alive.transaction_id)
        assert still.status == "active"
        assert again.id_tag_info["status"] == "Accepted"
        charging = await session_of(context, station_id=cp2, transaction_id=again.transaction_id)
        assert charging.status == "active"

    async def test_closing_abandoned_sessions_again_changes_nothing(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        cp1, _ = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as station:
            lost = await station.start_tx(CARD, minutes=0)
        live_server.clock.current = T0 + timedelta(days=2)

        counts = []
        for _ in range(2):
            async with context.unit_of_work() as db:
                counts.append(
                    await close_abandoned_sessions(
                        db=db, now=live_server.clock.now(), silent_for=timedelta(hours=24)
                    )
                )
                await db.commit()
            if len(counts) == 1:
                first = await session_of(context, station_id=cp1, transaction_id=1)

        second = await session_of(context, station_id=cp1, transaction_id=lost.transaction_id)
        assert counts == [1, 0]
        assert (second.status, second.updated_at, second.cost_incl_vat) == (
            "abandoned",
            first.updated_at,
            first.cost_incl_vat,
        )


class TestClockSkew:
    async def test_a_start_stamped_1970_starts_at_the_servers_receive_time(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        cp1, _ = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as station:
            started = await station.call(
                call.StartTransaction(
                    connector_id=1, id_tag=CARD, meter_start=0, timestamp="1970-01-01T00:00:00Z"
                )
            )
            await station.stop_tx(started.transaction_id, 2000, minutes=30)

        row = await session_of(context, station_id=cp1, transaction_id=started.transaction_id)
        assert started.id_tag_info["status"] == "Accepted"
        assert row.started_at == T0
        assert row.stopped_at == T0 + timedelta(minutes=30)
        assert row.pricing_status == "review"
        assert row.cost_excl_vat == Decimal("1.60")  # 2 kWh x 0.30 + 1.00
        assert await anomaly_kinds(context, row.id) == ["clock_skew"]

    async def test_a_stop_stamped_before_its_start_ends_at_the_receive_time(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        cp1, _ = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as station:
            started = await station.start_tx(CARD, meter_start=0, minutes=0)
            await station.meter(started.transaction_id, 1000, minutes=20)
            # The station's clock jumped back an hour; the server receives the stop at 09:20.
            await station.call(
                call.StopTransaction(
                    transaction_id=started.transaction_id, meter_stop=1000, timestamp=ts(-40)
                )
            )

        row = await session_of(context, station_id=cp1, transaction_id=started.transaction_id)
        assert (row.status, row.stopped_at) == ("completed", T0 + timedelta(minutes=20))
        assert (row.pricing_status, row.cost_excl_vat) == ("review", Decimal("1.30"))
        assert await anomaly_kinds(context, row.id) == ["clock_skew"]

    async def test_a_stop_stamped_a_day_ahead_ends_at_the_receive_time(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        cp1, _ = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as station:
            started = await station.start_tx(CARD, meter_start=0, minutes=0)
            await station.meter(started.transaction_id, 1000, minutes=10)
            await station.call(
                call.StopTransaction(
                    transaction_id=started.transaction_id, meter_stop=1000, timestamp=ts(24 * 60)
                )
            )

        row = await session_of(context, station_id=cp1, transaction_id=started.transaction_id)
        assert row.stopped_at == T0 + timedelta(minutes=10)
        assert await anomaly_kinds(context, row.id) == ["clock_skew"]

    async def test_a_stop_clamped_onto_its_start_ends_the_session_and_shows_its_pricing(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        # The clamped stop makes a session of no time: priced with its fixed fee, for review.
        cp1, _ = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as station:
            started = await station.start_tx(CARD, meter_start=0, minutes=0)
            await station.call(
                call.StopTransaction(
                    transaction_id=started.transaction_id,
                    meter_stop=0,
                    timestamp="1970-01-01T00:00:00Z",
                )
            )

        row = await session_of(context, station_id=cp1, transaction_id=started.transaction_id)
        assert (row.status, row.billable) == ("completed", True)
        assert row.stopped_at == row.started_at == T0
        assert (row.pricing_status, row.pricing_error) == ("review", None)
        assert row.cost_excl_vat == Decimal("1.00")

    async def test_a_zero_duration_session_is_priced_with_its_fixed_fee(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        cp1, _ = await two_stations(context, operator_id)
        async with charger(live_server, "CP-1") as station:
            started = await station.start_tx(CARD, meter_start=0, minutes=0)
            await station.stop_tx(started.transaction_id, 0, minutes=0)

        row = await session_of(context, station_id=cp1, transaction_id=started.transaction_id)
        assert (row.pricing_status, row.pricing_error) == ("priced", None)
        assert (row.cost_excl_vat, row.cost_incl_vat) == (Decimal("1.00"), Decimal("1.20"))
