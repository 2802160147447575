"""Idempotency-Key on money-moving routes: the same key and request get the first response
again and no second effect; another request under the same key is a 409; keys belong to the
caller's credential and last 24 hours; only successful responses are kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.infra.http.deps import Context
from evbilling.infra.http.idempotency import IdempotencyKeys, prune_idempotency_keys
from evbilling.kit import FixedClock
from evbilling.models import IdempotencyKey, Operator

ROUTE = "/api/v1/wallets/{wallet_id}/moves"


class Move(BaseModel):
    amount: int


class Gate:
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.armed = False


def money_app(context: ServiceContext, gate: Gate) -> FastAPI:
    app = FastAPI()
    app.state.context = context

    @app.post(ROUTE, status_code=201)
    async def move(wallet_id: int, body: Move, ctx: Context) -> dict[str, int]:
        if body.amount <= 0:
            raise HTTPException(status_code=422, detail="amount must be positive")
        if gate.armed:
            gate.entered.set()
            await gate.release.wait()
        async with ctx.unit_of_work() as db:
            row = Operator(name=f"move {wallet_id} {body.amount}", created_at=ctx.clock.now())
            db.add(row)
            await db.commit()
            return {"move_id": row.id, "amount": body.amount}

    @app.post("/api/v1/other")
    async def other(ctx: Context) -> dict[str, int]:
        async with ctx.unit_of_work() as db:
            db.add(Operator(name="move other", created_at=ctx.clock.now()))
            await db.commit()
        return {"ok": 1}

    app.add_middleware(IdempotencyKeys, context=context, routes=[ROUTE])
    return app


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
async def client(context: ServiceContext, gate: Gate) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=money_app(context, gate))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": "Bearer key-of-operator-a"},
    ) as http:
        yield http


async def moves(context: ServiceContext) -> int:
    async with context.unit_of_work() as db:
        return int(
            await db.scalar(
                select(func.count()).select_from(Operator).where(Operator.name.like("move %"))
            )
            or 0
        )


async def stored_keys(db_context: ServiceContext) -> int:
    async with db_context.unit_of_work() as db:
        return int(await db.scalar(select(func.count()).select_from(IdempotencyKey)) or 0)


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


class TestTheSameRequestTwice:
    async def test_gets_the_first_response_again_and_moves_money_once(
        self, client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        first = await client.post(
            "/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("k1")
        )
        second = await client.post(
            "/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("k1")
        )

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert "idempotent-replayed" not in first.headers
        assert await moves(context) == 1

    async def test_with_other_keys_or_no_key_each_request_runs(
        self, client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        await client.post("/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("a"))
        await client.post("/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("b"))
        await client.post("/api/v1/wallets/7/moves", json={"amount": 5})
        await client.post("/api/v1/wallets/7/moves", json={"amount": 5})

        assert await moves(context) == 4

    async def test_another_credential_does_not_see_the_first_callers_key(
        self, client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        await client.post("/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("k"))
        other = await client.post(
            "/api/v1/wallets/7/moves",
            json={"amount": 5},
            headers={"Idempotency-Key": "k", "Authorization": "Bearer key-of-operator-b"},
        )

        assert other.status_code == 201
        assert "idempotent-replayed" not in other.headers
        assert await moves(context) == 2

    async def test_routes_that_move_no_money_ignore_the_header(
        self, client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        await client.post("/api/v1/other", headers=keyed("k"))
        await client.post("/api/v1/other", headers=keyed("k"))

        assert await moves(context) == 2
        assert await stored_keys(context) == 0


class TestTheSameKeyForAnotherRequest:
    async def test_is_a_conflict_that_changes_nothing(
        self, client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        await client.post("/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("k1"))

        other_body = await client.post(
            "/api/v1/wallets/7/moves", json={"amount": 6}, headers=keyed("k1")
        )
        other_path = await client.post(
            "/api/v1/wallets/8/moves", json={"amount": 5}, headers=keyed("k1")
        )

        for response in (other_body, other_path):
            assert response.status_code == 409
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["type"].endswith("/idempotency-key-reused")
        assert await moves(context) == 1

    async def test_while_the_first_is_still_running_is_a_conflict(
        self, client: httpx.AsyncClient, context: ServiceContext, gate: Gate
    ) -> None:
        gate.armed = True
        first = asyncio.create_task(
            client.post("/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("k1"))
        )
        await gate.entered.wait()

        second = await client.post(
            "/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("k1")
        )
        gate.release.set()

        assert second.status_code == 409
        assert second.json()["type"].endswith("/idempotency-key-in-progress")
        assert (await first).status_code == 201
        assert await moves(context) == 1


class TestARefusedRequest:
    async def test_keeps_no_key_so_the_corrected_request_can_use_it(
        self, client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        refused = await client.post(
            "/api/v1/wallets/7/moves", json={"amount": -1}, headers=keyed("k1")
        )
        corrected = await client.post(
            "/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("k1")
        )

        assert refused.status_code == 422
        assert corrected.status_code == 201
        assert await moves(context) == 1

    @pytest.mark.parametrize("key", ["", "x" * 256, "with space", "tab\there", "naïve"])
    async def test_with_an_unusable_key_is_refused_before_it_runs(
        self, client: httpx.AsyncClient, context: ServiceContext, key: str
    ) -> None:
        response = await client.post(
            "/api/v1/wallets/7/moves",
            json={"amount": 5},
            headers=[(b"Idempotency-Key", key.encode())],
        )

        assert response.status_code == 400
        assert response.json()["type"].endswith("/invalid-idempotency-key")
        assert await moves(context) == 0
        assert await stored_keys(context) == 0


class TestKeysLastADay:
    async def test_a_key_older_than_24_hours_runs_the_request_again(
        self, client: httpx.AsyncClient, context: ServiceContext, clock: FixedClock
    ) -> None:
        await client.post("/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("k1"))
        clock.advance(seconds=24 * 3600)

        again = await client.post(
            "/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("k1")
        )

        assert "idempotent-replayed" not in again.headers
        assert await moves(context) == 2

    async def test_the_prune_job_drops_expired_keys_only(
        self, client: httpx.AsyncClient, context: ServiceContext, clock: FixedClock
    ) -> None:
        await client.post("/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("old"))
        clock.advance(seconds=23 * 3600)
        await client.post("/api/v1/wallets/7/moves", json={"amount": 5}, headers=keyed("new"))
        clock.advance(seconds=3600)

        async with context.unit_of_work() as db:
            await prune_idempotency_keys(db=db, payload={}, now=clock.now())
            await db.commit()

        async with context.unit_of_work() as db:
            keys = list((await db.execute(select(IdempotencyKey.key))).scalars())
        assert keys == ["new"]
