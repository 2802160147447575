"""Re-rating an OCPI 2.2.1 CDR against a tariff: the engine behind ``evbilling rate``.

The volumes rated are the partner's own. A CDR's charging period lasts until the next one
starts (the last until ``end_date_time``) and is laid out from its start by its time
volumes: TIME hours of charging, then PARKING_TIME hours of parking; what they leave
uncovered is untimed (neither charging nor parking time: priced by no time component), so a
period reporting neither is untimed throughout. Volumes that fill the period to within their
rounding (0.001 h, 3.6 s, each: partners round or cut hours to three decimals) fill it
exactly; volumes that exceed it by more are an error. A RESERVATION_TIME period is a
reservation until the next period: a reservation ends when the session starts.

ENERGY is the period's kWh (ENERGY_IMPORT when a partner reports only that), priced with its
charging part (else its first part); FLAT is charged once per session as the tariff says.
MIN/MAX_CURRENT and MIN/MAX_POWER choose restricted elements, and the averages CURRENT and
POWER stand in for a minimum and maximum the period does not report. ENERGY_EXPORT and
STATE_OF_CHARGE are accepted and price nothing. CURRENT and POWER may be negative (energy
flowing to the grid); every other volume is >= 0. Every period is rated with the given
tariff; a period whose ``tariff_id`` names a different tariff is an error. A partner's tariff
that leaves out who published it (country_code, party_id, id, last_updated) is still rated,
with a warning for each field filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from evbilling.kit import EVBillingError
from evbilling.kit.clock import InvalidTimestamp
from evbilling.rating.engine.period import ChargingPeriodInput, PeriodKind
from evbilling.rating.engine.plan import US_PER_HOUR
from evbilling.rating.engine.rate import rate_session
from evbilling.rating.engine.result import CdrDimensionType, RatedCdr
from evbilling.tariffs.domain import (
    FieldError,
    Price,
    Tariff,
    format_ocpi_datetime,
    parse_ocpi_datetime,
    parse_tariff,
    price_to_ocpi,
)

__all__ = ["InvalidCdr", "cdr_periods", "rate_ocpi_cdr", "rated_cdr_to_ocpi"]


class InvalidCdr(EVBillingError):
    """A CDR cannot be re-rated; `errors` lists every offending field."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


def rate_ocpi_cdr(
    *,
    tariff_json: Mapping[str, Any],
    cdr_json: Mapping[str, Any],
    time_zone: str | None,
) -> dict[str, Any]:
    """Price an OCPI CDR's charging periods with an OCPI tariff; a JSON-ready dict.

    The result has the CDR's totals as computed here, the line-item ``breakdown`` and, when
    the CDR states a ``total_cost``, an ``audit`` comparing the two. `time_zone` (IANA) is
    required when the tariff has time-of-day, day-of-week or date restrictions; otherwise UTC
    is used. Raises `InvalidTariff`, `InvalidCdr` or the errors of `rate_session`.
    """
    identified, warnings = _with_identification(tariff_json, cdr_json=cdr_json)
    tariff = parse_tariff(identified)
    periods, end = cdr_periods(cdr_json=cdr_json, tariff=tariff)
    if time_zone is None:
        if tariff.uses_local_time:
            raise InvalidCdr(
                [FieldError("time_zone", "the tariff has local-time restrictions; give a zone")]
            )
        time_zone = "UTC"
    rated = rate_session(tariff=tariff, periods=periods, end=end, time_zone=time_zone)
    out = rated_cdr_to_ocpi(rated)
    declared = cdr_json.get("total_cost")
    if isinstance(declared, Mapping):
        out["audit"] = _audit(declared, rated.total_cost)
    if warnings:
        out["warnings"] = warnings
    return out


# What a partner's tariff may leave out when it is only rated here, never stored: who
# published it. Prices are never guessed; only these identification fields are filled.
_PLACEHOLDERS = {
    "country_code": "XX",
    "party_id": "XXX",
    "last_updated": "1970-01-01T00:00:00Z",
}


def _with_identification(
    tariff_json: Mapping[str, Any], *, cdr_json: Mapping[str, Any]
) -> tuple[Mapping[str, Any], list[str]]:
    """The tariff with missing identification fields filled in, and a warning for each."""
    if not isinstance(tariff_json, Mapping):
        return tariff_json, []
    filled = dict(tariff_json)
    warnings: list[str] = []
    placeholders: dict[str, object] = dict(_PLACEHOLDERS)
    periods = cdr_json.get("charging_periods") if isinstance(cdr_json, Mapping) else None
    first = periods[0] if isinstance(periods, list) and periods else None
    # A tariff without an id is the one the CDR's periods name (or an anonymous one).
    named = first.get("tariff_id") if isinstance(first, Mapping) else None
    placeholders["id"] = named if isinstance(named, str) and named else "unidentified"
    for field in ("country_code", "party_id", "id", "last_updated"):
        if field not in filled:
            filled[field] = placeholders[field]
            warnings.append(f"tariff.{field}: missing; rated as {placeholders[field]!r}")
    return filled, warnings


def cdr_periods(
    *, cdr_json: Mapping[str, Any], tariff: Tariff
) -> tuple[list[ChargingPeriodInput], datetime]:
    """Engine periods and the session end from an OCPI CDR (or finished Session) object."""
    errors: list[FieldError] = []
    if not isinstance(cdr_json, Mapping):
        raise InvalidCdr([FieldError("$", "must be an object")])
    currency = cdr_json.get("currency")
    if currency is not None and currency != tariff.currency:
        errors.append(FieldError("currency", f"is {currency!r}, the tariff's is {tariff.currency}"))
    end = _datetime(cdr_json.get("end_date_time"), "end_date_time", errors)
    raw = cdr_json.get("charging_periods")
    if not isinstance(raw, list) or not raw:
        errors.append(FieldError("charging_periods", "must be a non-empty list"))
        raw = []
    parsed: list[tuple[datetime, dict[CdrDimensionType, Decimal]]] = []
    for index, item in enumerate(raw):
        path = f"charging_periods[{index}]"
        if not isinstance(item, Mapping):
            errors.append(FieldError(path, "must be an object"))
            continue
        start = _datetime(item.get("start_date_time"), f"{path}.start_date_time", errors)
        tariff_id = item.get("tariff_id")
        if tariff_id is not None and str(tariff_id).upper() != tariff.id.upper():
            errors.append(
                FieldError(f"{path}.tariff_id", f"is {tariff_id!r}, not the rated tariff")
            )
        dimensions = _dimensions(item.get("dimensions"), f"{path}.dimensions", errors)
        if start is not None:
            parsed.append((start, dimensions))
    if errors:
        raise InvalidCdr(errors)
    assert end is not None
    periods: list[ChargingPeriodInput] = []
    for index, (start, dimensions) in enumerate(parsed):
        stop = parsed[index + 1][0] if index + 1 < len(parsed) else end
        path = f"charging_periods[{index}].dimensions"
        periods.extend(_periods_of(start, stop, dimensions, path=path, errors=errors))
    if errors:
        raise InvalidCdr(errors)
    return periods, end


def _datetime(value: object, path: str, errors: list[FieldError]) -> datetime | None:
    if not isinstance(value, str):
        errors.append(FieldError(path, "is required" if value is None else "must be a string"))
        return None
    try:
        return parse_ocpi_datetime(value)
    except InvalidTimestamp:
        errors.append(FieldError(path, "must be an ISO 8601 DateTime in UTC"))
        return None


# Averages whose sign says the direction of flow (OCPI 2.2.1 CdrDimensionType).
_SIGNED = frozenset({CdrDimensionType.CURRENT, CdrDimensionType.POWER})


def _dimensions(
    value: object, path: str, errors: list[FieldError]
) -> dict[CdrDimensionType, Decimal]:
    out: dict[CdrDimensionType, Decimal] = {}
    if not isinstance(value, list) or not value:
        errors.append(FieldError(path, "must be a non-empty list"))
        return out
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            errors.append(FieldError(where, "must be an object"))
            continue
        try:
            kind = CdrDimensionType(str(item.get("type")))
        except ValueError:
            errors.append(FieldError(f"{where}.type", "is not a CdrDimensionType"))
            continue
        volume = item.get("volume")
        if isinstance(volume, bool) or not isinstance(volume, int | Decimal):
            message = "must be a number"
            if isinstance(volume, float):
                message = "must be a decimal number (parse JSON with parse_float=Decimal)"
            errors.append(FieldError(f"{where}.volume", message))
            continue
        if not Decimal(volume).is_finite():
            errors.append(FieldError(f"{where}.volume", "must be a finite number"))
            continue
        if volume < 0 and kind not in _SIGNED:
            errors.append(FieldError(f"{where}.volume", "must be a finite number >= 0"))
            continue
        if kind in out:
            errors.append(FieldError(f"{where}.type", f"{kind} appears twice"))
            continue
        out[kind] = Decimal(volume)
    return out


# Partners write hours to 0.001 h (3.6 s), rounded or cut: a volume may be off by that much.
_ROUNDING_US = US_PER_HOUR // 1000


def _us(hours: Decimal) -> int:
    return int((hours * US_PER_HOUR).to_integral_value(rounding=ROUND_HALF_EVEN))


def _periods_of(
    start: datetime,
    stop: datetime,
    dimensions: dict[CdrDimensionType, Decimal],
    *,
    path: str,
    errors: list[FieldError],
) -> list[ChargingPeriodInput]:
    if CdrDimensionType.RESERVATION_TIME in dimensions:
        return [ChargingPeriodInput(start=start, kind=PeriodKind.RESERVATION)]
    current = dimensions.get(CdrDimensionType.CURRENT)
    power = dimensions.get(CdrDimensionType.POWER)
    energy = dimensions.get(
        CdrDimensionType.ENERGY, dimensions.get(CdrDimensionType.ENERGY_IMPORT, Decimal(0))
    )
    span = (stop - start) // timedelta(microseconds=1)
    # [kind, µs] in the order they happened: charging, parking, then the time neither covers.
    parts: list[list[Any]] = [
        [kind, _us(dimensions[dimension])]
        for kind, dimension in (
            (PeriodKind.CHARGING, CdrDimensionType.TIME),
            (PeriodKind.PARKING, CdrDimensionType.PARKING_TIME),
        )
        if dimension in dimensions
    ]
    rest = span - sum(length for _, length in parts)
    if parts and abs(rest) <= _ROUNDING_US * len(parts):
        for part in reversed(parts):  # rounding: the volumes fill the period exactly
            part[1], rest = max(part[1] + rest, 0), min(part[1] + rest, 0)
    elif rest < 0:
        hours = Decimal(span) / US_PER_HOUR
        errors.append(FieldError(path, f"TIME and PARKING_TIME exceed the period's {hours:.6f} h"))
        return []
    if rest > 0:
        parts.append([PeriodKind.UNTIMED, rest])
    timed = [part for part in parts if part[1] > 0] or [[PeriodKind.UNTIMED, 0]]
    charged = next((part for part in timed if part[0] is PeriodKind.CHARGING), timed[0])
    out: list[ChargingPeriodInput] = []
    at = start
    for part in timed:
        out.append(
            ChargingPeriodInput(
                start=at,
                kind=part[0],
                energy_kwh=energy if part is charged else Decimal(0),
                min_current=dimensions.get(CdrDimensionType.MIN_CURRENT, current),
                max_current=dimensions.get(CdrDimensionType.MAX_CURRENT, current),
                min_power=dimensions.get(CdrDimensionType.MIN_POWER, power),
                max_power=dimensions.get(CdrDimensionType.MAX_POWER, power),
            )
        )
        at += timedelta(microseconds=part[1])
    return out


def _audit(declared: Mapping[str, Any], computed: Price) -> dict[str, Any]:
    out: dict[str, Any] = {"declared_total_cost": dict(declared)}
    excl = declared.get("excl_vat")
    incl = declared.get("incl_vat")
    matches = isinstance(excl, int | Decimal) and Decimal(excl) == computed.excl_vat
    out["difference_excl_vat"] = (
        computed.excl_vat - Decimal(excl) if isinstance(excl, int | Decimal) else None
    )
    if isinstance(incl, int | Decimal) and computed.incl_vat is not None:
        out["difference_incl_vat"] = computed.incl_vat - Decimal(incl)
        matches = matches and Decimal(incl) == computed.incl_vat
    out["matches"] = matches
    return out


def rated_cdr_to_ocpi(rated: RatedCdr, /) -> dict[str, Any]:
    """A rated session as OCPI CDR fields plus ``breakdown`` (JSON-ready, Decimal numbers)."""

    def price(value: Price) -> dict[str, Decimal]:
        return price_to_ocpi(value)

    return {
        "currency": rated.currency,
        "tariff_id": rated.tariff_id,
        "start_date_time": format_ocpi_datetime(rated.start_date_time),
        "end_date_time": format_ocpi_datetime(rated.end_date_time),
        "charging_periods": [
            {
                "start_date_time": format_ocpi_datetime(period.start_date_time),
                "dimensions": [
                    {"type": dimension.type.value, "volume": dimension.volume}
                    for dimension in period.dimensions
                ],
                "tariff_id": rated.tariff_id,
            }
            for period in rated.charging_periods
        ],
        "total_cost": price(rated.total_cost),
        "total_fixed_cost": price(rated.total_fixed_cost),
        "total_energy": rated.total_energy,
        "total_energy_cost": price(rated.total_energy_cost),
        "total_time": rated.total_time,
        "total_time_cost": price(rated.total_time_cost),
        "total_parking_time": rated.total_parking_time,
        "total_parking_cost": price(rated.total_parking_cost),
        "total_reservation_cost": price(rated.total_reservation_cost),
        "total_reservation_time": rated.total_reservation_time,
        "total_price_adjustment": price(rated.total_price_adjustment),
        "reservation_expired": rated.reservation_expired,
        "breakdown": [
            {
                "kind": line.kind.value,
                "description": line.description,
                "quantity": line.quantity,
                "unit": line.unit.value,
                "unit_price": line.unit_price,
                "vat": line.vat,
                "amount_excl_vat": line.amount_excl_vat,
                "amount_incl_vat": line.amount_incl_vat,
                "exact_amount_excl_vat": line.exact_amount_excl_vat,
                "exact_amount_incl_vat": line.exact_amount_incl_vat,
                "element_index": line.element_index,
                "step_size": line.step_size,
                "step_rounding": line.step_rounding,
            }
            for line in rated.lines
        ],
    }
