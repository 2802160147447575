"""Fixtures of the wallet tests: the server with the sandbox provider (as payments runs it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from evbilling.infra import secrets
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from tests.integration.payments.support import Payments, running_payments


@pytest.fixture
async def payments(
    context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int
) -> AsyncIterator[Payments]:
    async with running_payments(
        context=context, clock=clock, tmp_path=tmp_path, operator_id=operator_id
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with the smallest cost for the app's sign-ins (the rules are under test here)."""
    monkeypatch.setattr(
        secrets, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
