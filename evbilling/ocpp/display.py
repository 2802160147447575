"""Costs on the charger's display: the Open Charge Alliance "California pricing" messages for
OCPP 1.6, sent as DataTransfer (vendorId org.openchargealliance.costmsg) to stations whose
operator enabled `pricing_display` (stations that report CustomDisplayCostAndPrice=true).

The `data` field is a JSON string written here with exact decimal digits: money never passes
through a float (or through the ocpp library's Decimal encoder, which keeps one decimal).
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

from evbilling.charging.pricing import SessionCost
from evbilling.rating.engine import LineKind
from evbilling.tariffs.domain import dumps_ocpi

VENDOR_ID = "org.openchargealliance.costmsg"


def _unit_prices(cost: SessionCost) -> dict[str, Decimal]:
    """The charging price in force: per kWh, per hour and the flat fee of the latest lines."""
    prices: dict[str, Decimal] = {}
    for line in cost.rated.lines:
        key = {
            LineKind.ENERGY: "kWhPrice",
            LineKind.TIME: "hourPrice",
            LineKind.FLAT: "flatFee",
        }.get(line.kind)
        if key is not None:
            prices[key] = line.unit_price
    return prices


def running_cost_payload(*, cost: SessionCost, meter_wh: int, charging: bool) -> dict[str, Any]:
    parking = [line for line in cost.rated.lines if line.kind is LineKind.PARKING_TIME]
    data: dict[str, Any] = {
        "transactionId": cost.session_id,
        "timestamp": cost.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "meterValue": meter_wh,
        "cost": cost.total_incl_vat if cost.total_incl_vat is not None else cost.total_excl_vat,
        "state": "Charging" if charging else "Idle",
        "chargingPrice": _unit_prices(cost),
    }
    if parking:
        data["idlePrice"] = {"hourPrice": parking[-1].unit_price}
    return {"vendorId": VENDOR_ID, "messageId": "RunningCost", "data": dumps_ocpi(data)}


def final_cost_payload(*, cost: SessionCost) -> dict[str, Any]:
    total = cost.total_incl_vat if cost.total_incl_vat is not None else cost.total_excl_vat
    lines = [f"{line.description}: {line.amount_excl_vat}" for line in cost.rated.lines]
    text = "; ".join([*lines, f"Total {total} {cost.currency}"])
    data = {"transactionId": cost.session_id, "cost": total, "priceText": text[:500]}
    return {"vendorId": VENDOR_ID, "messageId": "FinalCost", "data": dumps_ocpi(data)}


def user_price_payload(*, id_tag: str, price_text: str) -> dict[str, Any]:
    """SetUserPrice: the driver's price, shown once the card is accepted."""
    data = {"idToken": id_tag, "priceText": price_text[:500]}
    return {"vendorId": VENDOR_ID, "messageId": "SetUserPrice", "data": dumps_ocpi(data)}
