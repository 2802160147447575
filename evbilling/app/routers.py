"""Every router of the driver app API, mounted under /api/app/v1 in this order (one line
each)."""

from __future__ import annotations

from fastapi import APIRouter

from evbilling.app import (
    account_endpoints,
    charging_endpoints,
    evse_endpoints,
    payment_endpoints,
    preference_endpoints,
    rfid_endpoints,
)

APP_ROUTERS: tuple[APIRouter, ...] = (
    account_endpoints.router,
    preference_endpoints.router,
    evse_endpoints.router,
    charging_endpoints.router,
    payment_endpoints.router,
    rfid_endpoints.router,
)
