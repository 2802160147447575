"""The sandbox provider's database for each test: a fresh SQLite file, and, when
EVBILLING_TEST_DATABASE_URL is set, a throw-away PostgreSQL database of its own (never
evbilling's test database: the sandbox's tables are not evbilling's)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from evbilling.infra.db.engine import create_engine
from evbilling.kit import FixedClock
from evbilling.payments.psp.sandbox import tables
from tests.conftest import POSTGRES_URL_ENV
from tests.integration.payments.psp.sandbox_support import Sandbox, running_sandbox


@pytest.fixture(scope="session")
def sandbox_postgres_url() -> Iterator[str]:
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL variant: set {POSTGRES_URL_ENV} to run it")
    name = f"evbilling_sandbox_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(base)

    async def admin(statement: str) -> None:
        engine = create_engine(url=admin_url.render_as_string(hide_password=False))
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def sandbox_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'sandbox-psp.sqlite3'}"
    url: str = request.getfixturevalue("sandbox_postgres_url")
    return url


async def empty_sandbox_database(url: str) -> None:
    """PostgreSQL's sandbox database is shared by the session: each test starts empty."""
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url=url)
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.drop_all)
    await engine.dispose()


@pytest.fixture
async def sandbox(sandbox_database_url: str, clock: FixedClock) -> AsyncIterator[Sandbox]:
    await empty_sandbox_database(sandbox_database_url)
    async with running_sandbox(database_url=sandbox_database_url, clock=clock) as running:
        yield running
