"""The explanation of a price: a rated CDR as JSON-ready lines with exact decimal strings.

Sessions store it as their cost breakdown; quotes return it before charging starts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from evbilling.rating.engine import CostLine, RatedCdr


def breakdown_of(rated: RatedCdr) -> dict[str, Any]:
    """The explanation of a bill, JSON-ready with exact decimal strings."""
    return {
        "currency": rated.currency,
        "tariff_id": rated.tariff_id,
        "lines": [_line(line) for line in rated.lines],
        "total_excl_vat": str(rated.total_cost.excl_vat),
        "total_incl_vat": str(rated.total_incl_vat),
        "total_energy_kwh": str(rated.total_energy),
        "total_time_h": str(rated.total_time),
        "total_parking_time_h": str(rated.total_parking_time),
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _line(line: CostLine) -> dict[str, Any]:
    return {
        "kind": line.kind.value,
        "description": line.description,
        "quantity": str(line.quantity),
        "unit": line.unit.value,
        "unit_price": str(line.unit_price),
        "vat_percent": _text(line.vat),
        "amount_excl_vat": str(line.amount_excl_vat),
        "amount_incl_vat": str(line.amount_incl_vat),
        "tariff_element": line.element_index,
        "step_size": line.step_size,
    }
