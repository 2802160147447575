"""Costs on the charger's display: the Open Charge Alliance "California pricing" messages for
OCPP 1.6, sent as DataTransfer (vendorId org.openchargealliance.costmsg) to stations whose
operator enabled `pricing_display` (stations that report CustomDisplayCostAndPrice=true).

The `data` field is a JSON string written here with exact decimal digits: money never passes
through a float (or through the ocpp library's Decimal encoder, which keeps one decimal).
`CostDisplay` sends them, after the message that caused them is answered.

Every amount sent to a display includes VAT -- the costs, the unit prices of RunningCost
(chargingPrice, idlePrice) and the texts of SetUserPrice and FinalCost, which say so ("incl.
VAT"); a tariff component without VAT has none (evbilling.tariffs.price_text).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging import costs
from evbilling.charging.pricing import SessionCost
from evbilling.ocpp.v16.link import StationLink
from evbilling.rating.engine import CostLine, LineKind, PeriodKind
from evbilling.rating.texts import bill_lines
from evbilling.tariffs.domain import dumps_ocpi
from evbilling.tariffs.price_text import amount_text, with_vat

VENDOR_ID = "org.openchargealliance.costmsg"
# Running costs go to a station's display at most this often per transaction.
COST_PUSH_EVERY_S = 60.0
# A display message is a courtesy: the station gets this long to take it.
DISPLAY_TIMEOUT_S = 30.0


def _price_incl_vat(line: CostLine, currency: str) -> Decimal:
    return Decimal(amount_text(with_vat(line.unit_price, line.vat), currency))


def _unit_prices(cost: SessionCost) -> dict[str, Decimal]:
    """The charging price in force, incl. VAT: per kWh, per hour and the flat fee of the
    latest lines."""
    prices: dict[str, Decimal] = {}
    for line in cost.rated.lines:
        key = {
            LineKind.ENERGY: "kWhPrice",
            LineKind.TIME: "hourPrice",
            LineKind.FLAT: "flatFee",
        }.get(line.kind)
        if key is not None:
            prices[key] = _price_incl_vat(line, cost.currency)
    return prices


def running_cost_payload(*, cost: SessionCost, meter_wh: int) -> dict[str, Any]:
    """RunningCost: the cost so far and the prices in force, incl. VAT; the state is what the
    cost prices the latest time as."""
    parking = [line for line in cost.rated.lines if line.kind is LineKind.PARKING_TIME]
    charging = cost.rated.charging_periods[-1].kind is PeriodKind.CHARGING
    data: dict[str, Any] = {
        "transactionId": cost.transaction_id,
        "timestamp": cost.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "meterValue": meter_wh,
        "cost": cost.rated.total_incl_vat,
        "state": "Charging" if charging else "Idle",
        "chargingPrice": _unit_prices(cost),
    }
    if parking:
        data["idlePrice"] = {"hourPrice": _price_incl_vat(parking[-1], cost.currency)}
    return {"vendorId": VENDOR_ID, "messageId": "RunningCost", "data": dumps_ocpi(data)}


def final_cost_payload(*, cost: SessionCost) -> dict[str, Any]:
    """FinalCost: the total incl. VAT and the bill's lines, each incl. VAT, saying so."""
    text = "; ".join(bill_lines(cost.rated))
    data = {
        "transactionId": cost.transaction_id,
        "cost": cost.rated.total_incl_vat,
        "priceText": text[:500],
    }
    return {"vendorId": VENDOR_ID, "messageId": "FinalCost", "data": dumps_ocpi(data)}


def user_price_payload(*, id_tag: str, price_text: str) -> dict[str, Any]:
    """SetUserPrice: the driver's price, shown once the card is accepted."""
    data = {"idToken": id_tag, "priceText": price_text[:500]}
    return {"vendorId": VENDOR_ID, "messageId": "SetUserPrice", "data": dumps_ocpi(data)}


class CostDisplay:
    """One station's display: the driver's price once a card is accepted, the running cost
    at most every COST_PUSH_EVERY_S per transaction, the final cost at the stop. Each message
    goes out in the background; a failure is logged and never disturbs charging."""

    __slots__ = ("_link", "_shown_at")

    def __init__(self, *, link: StationLink) -> None:
        self._link = link
        self._shown_at: dict[int, float] = {}

    @property
    def enabled(self) -> bool:
        return self._link.station.pricing_display

    def show_user_price(self, *, id_tag: str) -> None:
        self._link.in_background(self._push_user_price(id_tag))

    def show_cost(self, *, transaction_id: int, final: bool) -> None:
        now = time.monotonic()
        if not final and now - self._shown_at.get(transaction_id, -1e9) < COST_PUSH_EVERY_S:
            return
        self._shown_at[transaction_id] = now
        if final:
            self._shown_at.pop(transaction_id, None)
        self._link.in_background(self._push_cost(transaction_id, final=final))

    async def _push_user_price(self, id_tag: str) -> None:
        station = self._link.station

        async def work(db: AsyncSession, now: datetime) -> str | None:
            return await costs.user_price_text(db=db, station=station, id_tag=id_tag, now=now)

        try:
            text = await self._link.run(work)
            if text is not None:
                payload = user_price_payload(id_tag=id_tag, price_text=text)
                await self._link.send_call(
                    action="DataTransfer", payload=payload, timeout_s=DISPLAY_TIMEOUT_S
                )
        except Exception:
            self._link.log.exception("ocpp.price_display_failed")

    async def _push_cost(self, transaction_id: int, *, final: bool) -> None:
        station_id = self._link.station.id

        async def work(db: AsyncSession, now: datetime) -> tuple[SessionCost, int] | None:
            return await costs.transaction_cost(
                db=db, station_id=station_id, transaction_id=transaction_id, now=now
            )

        try:
            shown = await self._link.run(work)
            if shown is None:
                return
            cost, meter_wh = shown
            payload = (
                final_cost_payload(cost=cost)
                if final
                else running_cost_payload(cost=cost, meter_wh=meter_wh)
            )
            await self._link.send_call(
                action="DataTransfer", payload=payload, timeout_s=DISPLAY_TIMEOUT_S
            )
        except Exception:
            self._link.log.exception("ocpp.cost_display_failed", transaction_id=transaction_id)
