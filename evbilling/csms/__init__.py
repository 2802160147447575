"""The OCPP edge: the only package that speaks OCPP (the `ocpp` and `websockets` libraries)."""

from evbilling.csms.gateway import OcppGateway
from evbilling.csms.ratelimit import LoginThrottle

__all__ = ["LoginThrottle", "OcppGateway"]
