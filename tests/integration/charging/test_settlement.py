"""`charging.settlement.get_settlement`: what payments settles a session for, the total split
per VAT rate from its priced lines (both databases)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from evbilling.charging.settlement import get_settlement
from evbilling.infra.context import ServiceContext
from evbilling.kit import NotFound
from evbilling.money import Money
from tests.factories import create_station, create_tariff, create_token
from tests.integration.charging.lifecycle_arrange import meter, session_row, start, station_ref
from tests.integration.charging.payment_arrange import CARD, components, stop_with


async def settled(
    context: ServiceContext, operator_id: int, *, ocpi: dict[str, Any] | None, card: str = CARD
) -> tuple[int, Any]:
    """A session of 2.345 kWh over 20 minutes at a station with `ocpi`; its id, settlement."""
    tariff = await create_tariff(context, operator_id=operator_id, ocpi=ocpi)
    station = await station_ref(
        context, await create_station(context, operator_id=operator_id, tariff_id=tariff)
    )
    await create_token(context, operator_id=operator_id, uid=CARD)
    t0 = context.clock.now()
    started = await start(context, station, card=card, at=t0)
    await meter(
        context,
        station,
        transaction_id=started.transaction_id,
        wh=1000,
        at=t0 + timedelta(minutes=5),
    )
    await stop_with(
        context,
        station,
        transaction_id=started.transaction_id,
        wh=2345,
        at=t0 + timedelta(minutes=20),
    )
    row = await session_row(context, station, started.transaction_id)
    async with context.unit_of_work() as db:
        return row.id, await get_settlement(db=db, session_id=row.id)


class TestGetSettlement:
    async def test_two_vat_rates_add_up_to_the_total(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Energy 0.33/kWh at 19 %, a session fee of 0.99 at 7 %.
        ocpi = components(("ENERGY", "0.33", "19"), ("FLAT", "0.99", "7"))

        session_id, settlement = await settled(context, operator_id, ocpi=ocpi)

        # 2.345 kWh x 0.33 = 0.77385 -> 0.77 net, x 1.19 = 0.9208815 -> 0.92;
        # 0.99 net at 7 % = 1.0593 -> 1.06; total incl. 1.98.
        assert settlement.total == Money.of("1.98", "EUR")
        assert [(p.rate, p.net.amount, p.vat.amount) for p in settlement.portions] == [
            (Decimal(19), Decimal("0.77"), Decimal("0.15")),
            (Decimal(7), Decimal("0.99"), Decimal("0.07")),
        ]
        assert sum(p.net.amount + p.vat.amount for p in settlement.portions) == Decimal("1.98")
        assert (settlement.session_id, settlement.status, settlement.pricing_status) == (
            session_id,
            "completed",
            "priced",
        )
        assert (settlement.billable, settlement.energy_wh, settlement.currency) == (
            True,
            2345,
            "EUR",
        )
        assert settlement.location_id is not None
        assert settlement.driver_id is not None

    async def test_a_tariff_without_vat_is_one_portion_at_rate_zero(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        ocpi = components(("ENERGY", "0.40", None))

        _, settlement = await settled(context, operator_id, ocpi=ocpi)

        # 2.345 kWh x 0.40 = 0.938 -> 0.94
        assert settlement.total == Money.of("0.94", "EUR")
        assert [(p.rate, p.net.amount, p.vat.amount) for p in settlement.portions] == [
            (Decimal(0), Decimal("0.94"), Decimal("0.00"))
        ]

    async def test_a_session_not_billable_has_no_total(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        _, settlement = await settled(context, operator_id, ocpi=None, card="UNKNOWN1")

        assert (settlement.billable, settlement.pricing_status) == (False, "not_billable")
        assert (settlement.total, settlement.portions) == (None, ())
        assert settlement.driver_id is None

    async def test_an_unknown_session_is_not_found(self, context: ServiceContext) -> None:
        with pytest.raises(NotFound, match="session 404 not found"):
            async with context.unit_of_work() as db:
                await get_settlement(db=db, session_id=404)
