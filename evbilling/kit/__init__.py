"""Standard-library-only, pure helpers shared by every layer: clock, errors, ids."""

from evbilling.kit.clock import Clock, FixedClock, SystemClock, parse_utc_timestamp
from evbilling.kit.errors import Conflict, EVBillingError, InvalidRequest, NotFound
from evbilling.kit.ids import new_secret

__all__ = [
    "Clock",
    "Conflict",
    "EVBillingError",
    "FixedClock",
    "InvalidRequest",
    "NotFound",
    "SystemClock",
    "new_secret",
    "parse_utc_timestamp",
]
