"""Every router of the driver app API, mounted under /api/app/v1 in this order (one line
each)."""

from __future__ import annotations

from fastapi import APIRouter

from evbilling.app import account_endpoints

APP_ROUTERS: tuple[APIRouter, ...] = (account_endpoints.router,)
