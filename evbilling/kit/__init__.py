"""Standard-library-only helpers shared by every layer: clock, errors, ids, logging."""

from evbilling.kit.clock import Clock, FixedClock, SystemClock, parse_utc_timestamp
from evbilling.kit.errors import EVBillingError
from evbilling.kit.ids import new_secret
from evbilling.kit.log import get_logger, pseudonymize

__all__ = [
    "Clock",
    "EVBillingError",
    "FixedClock",
    "SystemClock",
    "get_logger",
    "new_secret",
    "parse_utc_timestamp",
    "pseudonymize",
]
