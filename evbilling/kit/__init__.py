"""Standard-library-only helpers shared by every layer: clock, errors, ids, logging."""

from evbilling.kit.clock import Clock, FixedClock, SystemClock, ensure_utc, parse_utc_timestamp
from evbilling.kit.errors import EVBillingError
from evbilling.kit.ids import new_secret, new_uuid
from evbilling.kit.log import get_logger, pseudonymize

__all__ = [
    "Clock",
    "EVBillingError",
    "FixedClock",
    "SystemClock",
    "ensure_utc",
    "get_logger",
    "new_secret",
    "new_uuid",
    "parse_utc_timestamp",
    "pseudonymize",
]
