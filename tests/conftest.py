"""Shared fixtures: every database test runs on SQLite and, when EVBILLING_TEST_DATABASE_URL
points at one, on PostgreSQL; each test starts from freshly migrated, empty tables."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.access.repository import OperatorRepository
from evbilling.access.service import create_api_key, ensure_operator
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.migrate import upgrade
from evbilling.kit import FixedClock
from evbilling.main import create_api
from evbilling.models import Base

# No per-example deadline: a busy CI machine must not turn slowness into failures.
hypothesis_settings.register_profile("evbilling", deadline=None, print_blob=True)
hypothesis_settings.load_profile("evbilling")

POSTGRES_URL_ENV = "EVBILLING_TEST_DATABASE_URL"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test gets a copy of the migrated file."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    upgrade(url=f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test run, migrated once."""
    base = os.environ.get(POSTGRES_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL variant: set {POSTGRES_URL_ENV} to run it (.ci/run does)")
    name = f"evbilling_test_{uuid.uuid4().hex[:10]}"
    admin_url = make_url(base)

    async def admin(statement: str) -> None:
        engine = create_engine(url=admin_url.render_as_string(hide_password=False))
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url=url)
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "evbilling.sqlite3"
        shutil.copyfile(template, target)
        return f"sqlite+aiosqlite:///{target}"
    url: str = request.getfixturevalue("postgres_url")
    # Every test starts on empty tables, also one that takes only the URL (a test before it
    # in this worker may have left rows behind).
    asyncio.run(_empty_postgres(url))
    return url


async def _empty_postgres(url: str) -> None:
    engine = create_engine(url=url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url=database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(current=START)


@pytest.fixture
def context(engine: AsyncEngine, clock: FixedClock) -> ServiceContext:
    return ServiceContext(session_factory=create_session_factory(engine), clock=clock)


@pytest.fixture
async def operator_id(context: ServiceContext) -> int:
    async with context.unit_of_work() as db:
        operator = await ensure_operator(db=db, name="Test Operator", now=context.clock.now())
        await db.commit()
    return operator


@pytest.fixture
async def api_key(context: ServiceContext, operator_id: int) -> str:
    async with context.unit_of_work() as db:
        issued = await create_api_key(
            db=db,
            operator_id=operator_id,
            name="tests",
            now=context.clock.now(),
            hasher=context.api_keys,
        )
        await db.commit()
    return issued.key


@pytest.fixture
async def api_client(context: ServiceContext, api_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """The operator API in-process (ASGI), authenticated with a fresh API key."""
    root = FastAPI()
    root.mount("/api/v1", create_api(context=context))
    transport = httpx.ASGITransport(app=root)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {api_key}"},
    ) as client:
        yield client


@pytest.fixture
async def other_client(
    context: ServiceContext, operator_id: int
) -> AsyncIterator[httpx.AsyncClient]:
    """The same API, authenticated as a second operator."""
    async with context.unit_of_work() as db:
        other = await OperatorRepository(db).create(name="Other operator", now=context.clock.now())
        issued = await create_api_key(
            db=db,
            operator_id=other.id,
            name="other",
            now=context.clock.now(),
            hasher=context.api_keys,
        )
        await db.commit()
    root = FastAPI()
    root.mount("/api/v1", create_api(context=context))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=root),
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {issued.key}"},
    ) as client:
        yield client


@pytest.fixture
def cli_database(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated database file (a copy of the session's `upgrade`d template) for the CLI."""
    path = tmp_path / "cli.sqlite3"
    shutil.copyfile(sqlite_template, path)
    monkeypatch.setenv("EVBILLING_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path
