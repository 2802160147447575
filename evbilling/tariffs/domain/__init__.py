"""The OCPI 2.2.1 Tariff object: immutable values, strict parsing and lossless export.

`parse_tariff(data)` validates a tariff as the Tariffs module of OCPI 2.2.1 defines it and
reports every problem at once, each with the path of the offending field
(``elements[0].price_components[1].step_size: must be a positive integer``).
`tariff_to_ocpi(tariff)` turns it back into a JSON-ready dict; numbers stay `Decimal`, exactly
as they were parsed (``2.00`` stays ``2.00``), so `dumps_ocpi` writes them back digit for
digit. Parse JSON text with `loads_ocpi` (or ``json.loads(text, parse_float=Decimal)``):
floats are refused, because 0.1 + 0.2 is not 0.3.

Choices where OCPI leaves room, documented once here:

- Unknown fields are errors: a misspelt ``restriction`` silently ignored would price a
  tariff wrongly, which is worse than refusing it.
- A JSON ``null`` is the same as an absent field, and so is an empty ``tariff_alt_text`` or
  ``day_of_week`` list (OCPI: "fields that are not specified may be considered as null").
- ``last_updated`` is optional: the spec's own PUT example omits it (the receiver stamps it).
- Prices must not be negative; VAT is a percentage in [0, 100]; ``step_size`` is a positive
  integer, except for ``FLAT`` where it has no unit and 0 is accepted (spec example 5).
- Magnitudes are bounded (`limits`): prices, VAT, step sizes, kWh, current, power and
  durations have a largest value and decimals at most 6 places, so no stored tariff can make
  rating inexact or overflow.
- A tariff element may hold at most one price component per dimension, and an element with a
  ``reservation`` restriction only ``FLAT`` and ``TIME`` components (OCPI 2.2.1).
- Ranges in restrictions must be non-empty: ``min_x < max_x``, ``start_date < end_date``.


The package: `model` (the values), `codec` (JSON text with exact numbers), `fields`,
`limits` and `parse` (validation), `export` (back to OCPI JSON). Import from the package
itself.
"""

from evbilling.tariffs.domain.codec import (
    dumps_ocpi,
    format_ocpi_datetime,
    loads_ocpi,
    parse_ocpi_datetime,
)
from evbilling.tariffs.domain.export import price_to_ocpi, tariff_to_ocpi
from evbilling.tariffs.domain.fields import decimal_places
from evbilling.tariffs.domain.limits import (
    MAX_CURRENT,
    MAX_DECIMAL_PLACES,
    MAX_DURATION,
    MAX_KWH,
    MAX_POWER,
    MAX_PRICE,
    MAX_STEP_SIZE,
    MAX_VAT_PERCENT,
)
from evbilling.tariffs.domain.model import (
    DayOfWeek,
    DisplayText,
    FieldError,
    InvalidTariff,
    Price,
    PriceComponent,
    ReservationRestrictionType,
    Tariff,
    TariffDimensionType,
    TariffElement,
    TariffRestrictions,
    TariffType,
)
from evbilling.tariffs.domain.parse import parse_tariff, parse_tariff_json

__all__ = [
    "MAX_CURRENT",
    "MAX_DECIMAL_PLACES",
    "MAX_DURATION",
    "MAX_KWH",
    "MAX_POWER",
    "MAX_PRICE",
    "MAX_STEP_SIZE",
    "MAX_VAT_PERCENT",
    "DayOfWeek",
    "DisplayText",
    "FieldError",
    "InvalidTariff",
    "Price",
    "PriceComponent",
    "ReservationRestrictionType",
    "Tariff",
    "TariffDimensionType",
    "TariffElement",
    "TariffRestrictions",
    "TariffType",
    "decimal_places",
    "dumps_ocpi",
    "format_ocpi_datetime",
    "loads_ocpi",
    "parse_ocpi_datetime",
    "parse_tariff",
    "parse_tariff_json",
    "price_to_ocpi",
    "tariff_to_ocpi",
]
