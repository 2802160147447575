"""Fixtures of the driver app API's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from evbilling.infra import secrets
from evbilling.infra.context import ServiceContext
from tests.app_support import app_api, app_client


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with the smallest cost: these tests are about the rules, not the hash's
    strength (tests/unit/infra covers the production parameters)."""
    monkeypatch.setattr(
        secrets, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def app(context: ServiceContext) -> FastAPI:
    return app_api(context=context)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(app) as client:
        yield client
