"""Fixtures of the driver app API's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from evbilling.infra.context import ServiceContext
from tests.app_support import app_api, app_client


@pytest.fixture
def app(context: ServiceContext) -> FastAPI:
    return app_api(context=context)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(app) as client:
        yield client
