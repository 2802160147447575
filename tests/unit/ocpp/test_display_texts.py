"""What a charger's display shows: every amount includes VAT, and the texts say so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from evbilling.charging.pricing import SessionCost
from evbilling.ocpp.v16.display import final_cost_payload, running_cost_payload
from evbilling.rating.breakdown import breakdown_of
from evbilling.rating.engine import ChargingPeriodInput, PeriodKind, rate_session
from evbilling.tariffs.domain import Tariff, dumps_ocpi, loads_ocpi, parse_tariff
from evbilling.tariffs.price_text import price_text

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def tariff(vat: str | None, *, parking: bool = False) -> Tariff:
    def component(kind: str, price: str) -> dict[str, Any]:
        data: dict[str, Any] = {"type": kind, "price": Decimal(price), "step_size": 1}
        if vat is not None:
            data["vat"] = Decimal(vat)
        return data

    components = [component("FLAT", "1.00"), component("ENERGY", "0.35")]
    if parking:
        components.append(component("PARKING_TIME", "6.00"))
    data = {
        "country_code": "DE",
        "party_id": "EVB",
        "id": "D",
        "currency": "EUR",
        "elements": [{"price_components": components}],
    }
    return parse_tariff(loads_ocpi(dumps_ocpi(data)))


def cost_of(rated_tariff: Tariff, *periods: ChargingPeriodInput, end: datetime) -> SessionCost:
    rated = rate_session(tariff=rated_tariff, periods=periods, end=end, time_zone="UTC")
    return SessionCost(
        session_id=7,
        transaction_id=7,
        final=False,
        currency="EUR",
        at=end,
        energy_wh=10_000,
        total_excl_vat=rated.total_cost.excl_vat,
        total_incl_vat=rated.total_incl_vat,
        breakdown=breakdown_of(rated),
        rated=rated,
        periods=list(periods),
    )


def data_of(payload: dict[str, Any]) -> Any:
    return json.loads(payload["data"], parse_float=Decimal)


CHARGED = ChargingPeriodInput(start=T0, kind=PeriodKind.CHARGING, energy_kwh=Decimal(10))


class TestDisplayIncludesVat:
    def test_running_cost_gives_the_cost_and_the_prices_incl_vat(self) -> None:
        cost = cost_of(tariff("19"), CHARGED, end=T0 + timedelta(hours=1))

        data = data_of(running_cost_payload(cost=cost, meter_wh=10_000))

        assert data["cost"] == Decimal("5.36")  # (1.00 + 3.50) x 1.19 = 5.355
        assert data["chargingPrice"] == {"flatFee": Decimal("1.19"), "kWhPrice": Decimal("0.4165")}
        assert data["state"] == "Charging"

    def test_running_cost_gives_the_idle_price_incl_vat_and_says_idle(self) -> None:
        parked = ChargingPeriodInput(start=T0 + timedelta(minutes=30), kind=PeriodKind.PARKING)
        cost = cost_of(tariff("20", parking=True), CHARGED, parked, end=T0 + timedelta(hours=1))

        data = data_of(running_cost_payload(cost=cost, meter_wh=10_000))

        assert data["idlePrice"] == {"hourPrice": Decimal("7.20")}
        assert data["state"] == "Idle"
        assert data["cost"] == Decimal("9.00")  # (1.00 + 3.50 + 3.00) x 1.20

    def test_final_cost_text_says_every_amount_includes_vat(self) -> None:
        cost = cost_of(tariff("19"), CHARGED, end=T0 + timedelta(hours=1))

        data = data_of(final_cost_payload(cost=cost))

        assert data["cost"] == Decimal("5.36")
        assert data["priceText"] == (
            "Start fee: 1.19 EUR; Energy: 10 kWh x 0.4165 EUR = 4.17 EUR; "
            "Total 5.36 EUR incl. VAT (4.50 EUR excl. VAT)"
        )

    @pytest.mark.parametrize("vat", [None, "0"])
    def test_without_vat_the_amounts_are_the_same_and_still_say_so(self, vat: str | None) -> None:
        cost = cost_of(tariff(vat), CHARGED, end=T0 + timedelta(hours=1))

        running = data_of(running_cost_payload(cost=cost, meter_wh=10_000))
        final = data_of(final_cost_payload(cost=cost))

        assert running["cost"] == final["cost"] == Decimal("4.50")
        assert running["chargingPrice"]["kWhPrice"] == Decimal("0.35")
        assert final["priceText"].endswith("Total 4.50 EUR incl. VAT (4.50 EUR excl. VAT)")

    def test_the_users_price_text_gives_prices_incl_vat(self) -> None:
        assert price_text(tariff=tariff("19")) == (
            "1.19 EUR per session; 0.4165 EUR/kWh, incl. 19% VAT"
        )

    def test_the_users_price_text_of_a_tariff_without_vat_says_incl_vat(self) -> None:
        assert price_text(tariff=tariff(None)) == "1.00 EUR per session; 0.35 EUR/kWh, incl. VAT"
