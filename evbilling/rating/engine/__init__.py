"""Rating: OCPI 2.2.1 tariffs applied to charging sessions, exactly and explainably.

Public API:

- `rate_session(tariff=, periods=, end=, time_zone=) -> RatedCdr`
- `build_periods(meter_samples=, end=, power_samples=, current_samples=, idle_intervals=,
  reservation_start=) -> list[ChargingPeriodInput]`
- `rate_ocpi_cdr(tariff_json=, cdr_json=, time_zone=) -> dict` and
  `rated_cdr_to_ocpi(rated) -> dict` (JSON-ready, Decimals; serialise with `dumps_ocpi`)
"""

from evbilling.rating.engine.cdr import InvalidCdr, rate_ocpi_cdr, rated_cdr_to_ocpi
from evbilling.rating.engine.period import (
    ChargingPeriodInput,
    CurrentSample,
    IdleInterval,
    InvalidMeterData,
    MeterSample,
    PeriodKind,
    PowerSample,
    build_periods,
)
from evbilling.rating.engine.rate import (
    InvalidSession,
    InvalidTimeZone,
    TariffNotApplicable,
    rate_session,
)
from evbilling.rating.engine.result import (
    LINE_PRICERS,
    CdrDimension,
    CdrDimensionType,
    CostLine,
    LineKind,
    RatedCdr,
    RatedPeriod,
    Unit,
    apportion,
)

__all__ = [
    "LINE_PRICERS",
    "CdrDimension",
    "CdrDimensionType",
    "ChargingPeriodInput",
    "CostLine",
    "CurrentSample",
    "IdleInterval",
    "InvalidCdr",
    "InvalidMeterData",
    "InvalidSession",
    "InvalidTimeZone",
    "LineKind",
    "MeterSample",
    "PeriodKind",
    "PowerSample",
    "RatedCdr",
    "RatedPeriod",
    "TariffNotApplicable",
    "Unit",
    "apportion",
    "build_periods",
    "rate_ocpi_cdr",
    "rate_session",
    "rated_cdr_to_ocpi",
]
