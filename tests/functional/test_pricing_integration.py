"""Sessions are priced by the OCPI engine with the tariff in force when they started."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from ocpp.v16 import call
from sqlalchemy import update
from typer.testing import CliRunner

from evbilling.cli import app as cli_app
from evbilling.drivers import service as drivers
from evbilling.infra.context import ServiceContext
from evbilling.models import ChargingSession
from evbilling.tariffs import service as tariffs
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi
from tests.factories import create_station, create_tariff, create_token
from tests.fixtures import OCPI_EXAMPLES
from tests.functional.charger import charger, ts
from tests.functional.conftest import LiveServer

EXAMPLES = OCPI_EXAMPLES.parent

# Peak 08:00-20:00 local: 0.40/kWh; otherwise 0.25/kWh; parking 6.00/h; all 20 % VAT.
TIME_OF_USE: dict[str, Any] = {
    "currency": "EUR",
    "elements": [
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.40"), "vat": Decimal(20), "step_size": 1}
            ],
            "restrictions": {"start_time": "08:00", "end_time": "20:00"},
        },
        {
            "price_components": [
                {"type": "ENERGY", "price": Decimal("0.25"), "vat": Decimal(20), "step_size": 1},
                {
                    "type": "PARKING_TIME",
                    "price": Decimal("6.00"),
                    "vat": Decimal(20),
                    "step_size": 60,
                },
            ]
        },
    ],
}


def api(server: LiveServer, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"{server.base_url}/api/v1", headers={"Authorization": f"Bearer {key}"}
    )


async def status(station: Any, value: str, minutes: float) -> None:
    await station.call(
        call.StatusNotification(
            connector_id=1, error_code="NoError", status=value, timestamp=ts(minutes)
        )
    )


class TestSessionPricing:
    async def test_prices_time_of_use_energy_and_parking_and_stores_the_cdr(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        # The reference instant is 09:00 UTC = 10:00 in Berlin: peak.
        tariff = await create_tariff(context, operator_id=operator_id, ocpi=TIME_OF_USE)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        async with charger(live_server) as station:
            await status(station, "Charging", 0)
            started = await station.start_tx(meter_start=0, minutes=0)
            await station.meter(started.transaction_id, 10_000, minutes=60)
            await status(station, "SuspendedEV", 60)
            await station.stop_tx(started.transaction_id, 10_000, minutes=90)
        async with api(live_server, api_key) as client:
            detail = (await client.get(f"/sessions/{started.transaction_id}")).json()
            cdr = await client.get(f"/sessions/{started.transaction_id}/cdr")

        # 10 kWh x 0.40 = 4.00 + 0.5 h parking x 6.00 = 3.00 -> 7.00, 8.40 incl. VAT
        assert (detail["cost_excl_vat"], detail["cost_incl_vat"]) == ("7.00", "8.40")
        kinds = [line["kind"] for line in detail["cost_breakdown"]["lines"]]
        assert kinds == ["ENERGY", "PARKING_TIME"]
        assert '"excl_vat": 7.00' in cdr.text.replace("\n", "")
        document = loads_ocpi(cdr.text)
        assert document["total_parking_time"] == Decimal("0.5")
        assert document["total_energy"] == Decimal(10)

    async def test_editing_the_tariff_never_changes_a_running_sessions_price(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)  # 0.30/kWh + 1.00
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=0, minutes=0)
            async with context.unit_of_work() as db:
                await tariffs.update_tariff(
                    db=db,
                    operator_id=operator_id,
                    tariff_id=tariff,
                    now=context.clock.now(),
                    ocpi=tariffs.simple_tariff_ocpi(
                        currency="EUR",
                        energy_price_per_kwh=Decimal("0.99"),
                        session_fee=Decimal("5.00"),
                        vat_percent=Decimal(20),
                    ),
                )
                await db.commit()
            await station.stop_tx(started.transaction_id, 10_000, minutes=60)
            later = await station.start_tx(meter_start=10_000, minutes=70)
            await station.stop_tx(later.transaction_id, 20_000, minutes=130)
        async with context.unit_of_work() as db:
            from evbilling.charging.sessions import get_session

            first = await get_session(db=db, operator_id=operator_id, session_id=1)
            second = await get_session(db=db, operator_id=operator_id, session_id=2)

        assert (first.tariff_version, first.cost_excl_vat) == (1, Decimal("4.00"))
        assert (second.tariff_version, second.cost_excl_vat) == (
            2,
            Decimal("14.90"),
        )

    async def test_a_drivers_tariff_overrides_the_stations(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        station_tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=station_tariff)
        token_id = await create_token(context, operator_id=operator_id)
        staff = await create_tariff(
            context,
            operator_id=operator_id,
            name="Staff",
            energy_price_per_kwh="0.10",
            session_fee="0",
            is_default=False,
        )
        async with context.unit_of_work() as db:
            token = await drivers.get_token(db=db, operator_id=operator_id, token_id=token_id)
            assert token.driver_id is not None
            await drivers.update_driver(
                db=db,
                operator_id=operator_id,
                driver_id=token.driver_id,
                now=context.clock.now(),
                tariff_id=staff,
            )
            await db.commit()
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=0, minutes=0)
            await station.stop_tx(started.transaction_id, 10_000, minutes=60)
        async with context.unit_of_work() as db:
            from evbilling.charging.sessions import get_session

            detail = await get_session(db=db, operator_id=operator_id, session_id=1)

        assert detail.tariff_id == staff
        assert detail.cost_excl_vat == Decimal("1.00")


class TestPriceBeforeAndDuringCharging:
    async def test_quotes_a_planned_session_with_its_breakdown_and_display_text(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id, ocpi=TIME_OF_USE)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        async with api(live_server, api_key) as client:
            evse = (await client.get("/stations/1/evses")).json()["items"][0]
            peak = await client.get(
                f"/evses/{evse['id']}/quote",
                params={"energy_kwh": "20", "duration_minutes": "60", "start": ts(0)},
            )
            night = await client.get(
                f"/evses/{evse['id']}/quote",
                params={"energy_kwh": "20", "duration_minutes": "60", "start": ts(12 * 60)},
            )

        assert peak.status_code == 200, peak.text
        assert (peak.json()["total_excl_vat"], peak.json()["total_incl_vat"]) == ("8.00", "9.60")
        assert night.json()["total_excl_vat"] == "5.00"
        assert peak.json()["display_text"] == (
            "Energy: 20 kWh x 0.48 EUR = 9.60 EUR\nTotal 9.60 EUR incl. VAT (8.00 EUR excl. VAT)"
        )

    async def test_reports_the_running_cost_of_an_active_session(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer, api_key: str
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        async with charger(live_server) as station, api(live_server, api_key) as client:
            started = await station.start_tx(meter_start=0, minutes=0)
            await station.meter(started.transaction_id, 5_000, minutes=30)
            context.clock.current = context.clock.current.replace(minute=30)  # type: ignore[attr-defined]
            running = (await client.get(f"/sessions/{started.transaction_id}/cost")).json()

        assert running["final"] is False
        assert running["energy_wh"] == 5_000
        assert running["total_excl_vat"] == "2.50"  # 1.00 + 5 kWh x 0.30

    async def test_pushes_running_and_final_cost_to_a_station_with_a_price_display(
        self, context: ServiceContext, operator_id: int, live_server: LiveServer
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)
        await create_station(
            context, operator_id=operator_id, tariff_id=tariff, pricing_display=True
        )
        await create_token(context, operator_id=operator_id)
        async with charger(live_server) as station:
            await station.call(call.Authorize(id_tag="04A1B2C3D4"))
            started = await station.start_tx(meter_start=0, minutes=0)
            await station.meter(started.transaction_id, 5_000, minutes=30)
            await station.stop_tx(started.transaction_id, 10_000, minutes=60)
            for _ in range(100):
                if len(station.data_transfers) >= 3:
                    break
                await asyncio.sleep(0.05)

        by_message = {transfer["message_id"]: transfer for transfer in station.data_transfers}
        user_price = json.loads(by_message["SetUserPrice"]["data"])
        assert user_price == {
            "idToken": "04A1B2C3D4",
            "priceText": "0.36 EUR/kWh; 1.20 EUR per session, incl. 20% VAT",
        }
        running, final = by_message["RunningCost"], by_message["FinalCost"]
        assert running["vendor_id"] == "org.openchargealliance.costmsg"
        assert running["message_id"] == "RunningCost"
        running_data = json.loads(running["data"], parse_float=Decimal)
        assert running_data["transactionId"] == started.transaction_id
        assert running_data["meterValue"] == 5_000
        assert running_data["cost"] == Decimal("3.00")  # 2.50 + 20 % VAT, exact digits
        assert running_data["chargingPrice"] == {  # incl. VAT, like the cost
            "kWhPrice": Decimal("0.36"),
            "flatFee": Decimal("1.20"),
        }
        assert final["message_id"] == "FinalCost"
        final_data = json.loads(final["data"], parse_float=Decimal)
        assert final_data["cost"] == Decimal("4.80")
        assert final_data["priceText"] == (
            "Start fee: 1.20 EUR; Energy: 10 kWh x 0.36 EUR = 3.60 EUR; "
            "Total 4.80 EUR incl. VAT (4.00 EUR excl. VAT)"
        )


class TestAuditAndWhatIf:
    def test_rate_prices_the_specs_cdr_example_with_the_tariff_it_carries(self) -> None:
        result = CliRunner().invoke(
            cli_app, ["rate", "--cdr", str(EXAMPLES / "examples" / "cdr_example.json")]
        )

        assert result.exit_code == 0, result.output
        priced = loads_ocpi(result.output)
        assert priced["total_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
        assert priced["audit"]["matches"] is True

    def test_rate_prices_a_partner_tariff_without_identification_with_warnings(
        self, tmp_path: Path
    ) -> None:
        cdr = loads_ocpi((EXAMPLES / "examples" / "cdr_example.json").read_text())
        tariff = dict(cdr.pop("tariffs")[0])
        for field in ("country_code", "party_id", "last_updated"):
            tariff.pop(field)
        (tmp_path / "cdr.json").write_text(dumps_ocpi(cdr))
        (tmp_path / "tariff.json").write_text(dumps_ocpi(tariff))

        result = CliRunner().invoke(
            cli_app,
            [
                "rate",
                "--cdr",
                str(tmp_path / "cdr.json"),
                "--tariff",
                str(tmp_path / "tariff.json"),
            ],
        )

        assert result.exit_code == 0, result.output
        assert "warning: tariff.party_id: missing" in result.stderr
        priced = loads_ocpi(result.stdout)
        assert priced["total_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
        assert [w.split(":")[0] for w in priced["warnings"]] == [
            "tariff.country_code",
            "tariff.party_id",
            "tariff.last_updated",
        ]

    async def test_rerate_reports_revenue_per_station_under_a_proposed_tariff(
        self,
        context: ServiceContext,
        operator_id: int,
        live_server: LiveServer,
        database_url: str,
        tmp_path: Path,
    ) -> None:
        tariff = await create_tariff(context, operator_id=operator_id)  # 0.30/kWh + 1.00
        await create_station(context, operator_id=operator_id, tariff_id=tariff)
        await create_token(context, operator_id=operator_id)
        async with charger(live_server) as station:
            started = await station.start_tx(meter_start=0, minutes=0)
            await station.stop_tx(started.transaction_id, 10_000, minutes=60)
        proposed = tmp_path / "proposed.json"
        proposed.write_text(
            '{"country_code": "DE", "party_id": "EVB", "id": "P1", "currency": "EUR",'
            ' "last_updated": "2026-01-01T00:00:00Z", "elements": [{"price_components":'
            ' [{"type": "ENERGY", "price": 0.45, "vat": 20, "step_size": 1}]}]}'
        )

        def run() -> Any:
            return CliRunner().invoke(
                cli_app,
                [
                    "rerate",
                    "--tariff",
                    str(proposed),
                    "--from",
                    "2026-03-01T00:00:00",
                    "--to",
                    "2026-03-03T00:00:00",
                    "--json",
                ],
                env={"EVBILLING_DATABASE_URL": database_url},
            )

        result = await asyncio.to_thread(run)
        # A session rated before periods were kept is re-rated from its raw readings.
        async with context.unit_of_work() as db:
            await db.execute(update(ChargingSession).values(rating_periods=None))
            await db.commit()
        from_readings = await asyncio.to_thread(run)

        assert result.exit_code == 0, result.output
        assert from_readings.output == result.output
        report = loads_ocpi(result.output)
        assert report["stations"][0]["station_identity"] == "CP-1"
        assert report["stations"][0]["billed_excl_vat"] == Decimal("4.00")
        assert report["stations"][0]["proposed_excl_vat"] == Decimal("4.50")
        assert report["totals"]["difference_excl_vat"] == Decimal("0.50")
