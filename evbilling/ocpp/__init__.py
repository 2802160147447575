"""The OCPP edge: the only package that speaks OCPP (the `ocpp` and `websockets` libraries)."""

from evbilling.ocpp.gateway import OcppGateway
from evbilling.ocpp.throttle import LoginThrottle

__all__ = ["LoginThrottle", "OcppGateway"]
