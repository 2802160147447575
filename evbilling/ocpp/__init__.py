"""The OCPP edge: the only package that speaks OCPP (the `ocpp` and `websockets` libraries).

`OcppGateway` is the WebSocket endpoint (authentication at the upgrade, the registry of live
connections operator commands travel through), `LoginThrottle` slows password guessing
within `LoginLimits`, `connection` carries one station's frames, `dead_letters` keeps a CALL
that failed on its own (listed by `evbilling ocpp dead-letters`), and `v16` is the OCPP 1.6J
protocol.
"""

from evbilling.infra.login_throttle import LoginLimits, LoginThrottle
from evbilling.ocpp.gateway import OcppGateway

__all__ = ["LoginLimits", "LoginThrottle", "OcppGateway"]
