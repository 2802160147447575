"""The HTTP edge owns the unit of work and answers every failure with a problem document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.infra.http.app import REQUEST_ID_HEADER, new_api
from evbilling.infra.http.deps import Db
from evbilling.infra.http.problems import ProblemRegistry
from evbilling.kit import EVBillingError, NotFound
from evbilling.models import Operator


class UnmappedFailure(EVBillingError):
    """A named error nobody registered: a server fault, not the client's to fix."""


class Refused(EVBillingError):
    """A named error registered as the client's fault."""


def _app(context: ServiceContext) -> FastAPI:
    registry = ProblemRegistry()
    registry.register_validation(Refused)
    api = new_api(title="test", description="test", context=context, registry=registry)

    async def add(db: Db, name: str) -> None:
        db.add(Operator(name=name, created_at=datetime(2026, 3, 2, tzinfo=UTC)))
        await db.flush()

    @api.post("/ok")
    async def ok(db: Db) -> dict[str, str]:
        await add(db, "committed")
        return {"status": "ok"}

    @api.post("/refused")
    async def refused(db: Db) -> None:
        await add(db, "refused")
        raise Refused("not like this")

    @api.post("/unmapped")
    async def unmapped(db: Db) -> None:
        await add(db, "unmapped")
        raise UnmappedFailure("internal detail that must not leak")

    @api.post("/crash")
    async def crash(db: Db) -> None:
        await add(db, "crash")
        raise RuntimeError("boom")

    @api.get("/missing")
    async def missing() -> None:
        raise NotFound(kind="thing", key=7)

    return api


@pytest.fixture
async def client(context: ServiceContext) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(context), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _operators(context: ServiceContext) -> list[str]:
    async with context.unit_of_work() as db:
        return list((await db.execute(select(Operator.name).order_by(Operator.id))).scalars())


class TestUnitOfWork:
    async def test_commits_when_the_route_returns(
        self, client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        response = await client.post("/ok")

        assert response.status_code == 200
        assert await _operators(context) == ["committed"]

    @pytest.mark.parametrize("path", ["/refused", "/unmapped", "/crash"])
    async def test_rolls_back_when_the_route_fails(
        self, client: httpx.AsyncClient, context: ServiceContext, path: str
    ) -> None:
        response = await client.post(path)

        assert response.status_code >= 400
        assert await _operators(context) == []


class TestProblemDocuments:
    async def test_registered_client_error_is_a_422_with_field_errors(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/refused")

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["title"] == "Invalid request"
        assert body["errors"] == [{"field": "body", "message": "not like this"}]

    @pytest.mark.parametrize("path", ["/unmapped", "/crash"])
    async def test_unmapped_error_is_a_500_problem_with_the_request_id(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        response = await client.post(path, headers={REQUEST_ID_HEADER: "req-42"})

        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 500
        assert body["request_id"] == "req-42"
        assert "internal detail" not in response.text
        assert "boom" not in response.text

    async def test_generic_not_found_is_a_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/missing")

        assert response.status_code == 404
        assert response.json()["detail"] == "thing 7 not found"

    async def test_every_response_carries_a_request_id(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/ok")

        assert len(response.headers[REQUEST_ID_HEADER]) == 32

    async def test_a_forged_request_id_is_replaced(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/ok", headers={REQUEST_ID_HEADER: "x\nlevel=error"})

        assert response.headers[REQUEST_ID_HEADER] != "x\nlevel=error"
        assert len(response.headers[REQUEST_ID_HEADER]) == 32
