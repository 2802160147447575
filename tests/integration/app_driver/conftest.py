"""Fixtures of the driver app's route tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from tests.integration.app_driver.driving import DriverApp, driver_app


@pytest.fixture
async def app(
    context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int
) -> AsyncIterator[DriverApp]:
    async with driver_app(
        context=context, clock=clock, tmp_path=tmp_path, operator_id=operator_id
    ) as running:
        yield running
