"""What the app's routes need besides the service context: the log-in throttle and where
mailed links point (set on the app by `api.create_app_api`)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from evbilling.app.login_throttle import AppLoginThrottle
from evbilling.drivers.accounts import Links


@dataclass(slots=True)
class AppEdge:
    throttle: AppLoginThrottle
    links: Links


def app_edge(request: Request) -> AppEdge:
    edge: AppEdge = request.app.state.app_edge
    return edge
