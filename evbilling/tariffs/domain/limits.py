"""How large a tariff's numbers may be. `parse_tariff` refuses a value outside these bounds
with its field named, so no stored tariff can make rating inexact or overflow (a price of
1e400, a step of 10^15 s). The bounds leave room for every currency (a kWh costs thousands in
some) and every charger (megawatt truck charging); docs/pricing.md lists them."""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from evbilling.tariffs.domain.model import TariffDimensionType

# Every decimal of a tariff (prices, VAT, kWh, A, kW): digits after the point, not counting
# trailing zeros (2.000000000 is 2; 0.0000001 is refused).
MAX_DECIMAL_PLACES: Final = 6
# A price per unit (kWh, hour, session) and a min_price / max_price amount, excl. or incl. VAT.
MAX_PRICE: Final = Decimal(1_000_000_000)
MAX_VAT_PERCENT: Final = Decimal(100)
# step_size: Wh for ENERGY, seconds for TIME and PARKING_TIME (a day), unitless for FLAT.
MAX_STEP_SIZE: Final = {
    TariffDimensionType.ENERGY: 1_000_000,
    TariffDimensionType.TIME: 86_400,
    TariffDimensionType.PARKING_TIME: 86_400,
    TariffDimensionType.FLAT: 1_000_000,
}
# Restrictions: min/max_kwh, min/max_current (A, all phases), min/max_power (kW),
# min/max_duration (seconds: a year).
MAX_KWH: Final = Decimal(100_000)
MAX_CURRENT: Final = Decimal(10_000)
MAX_POWER: Final = Decimal(10_000)
MAX_DURATION: Final = 365 * 86_400
