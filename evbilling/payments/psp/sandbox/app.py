"""The sandbox provider's HTTP API (JSON, under /v1, bearer API key) and its hosted card-entry
page (/setup/{id}). main mounts the app at /sandbox-psp; it runs alone just as well."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from evbilling.kit import Clock
from evbilling.payments.psp.sandbox import operations as ops
from evbilling.payments.psp.sandbox import setups
from evbilling.payments.psp.sandbox import tables as t
from evbilling.payments.psp.sandbox.pages import page_router, page_url
from evbilling.payments.psp.sandbox.params import (
    AmountParams,
    AuthorizationParams,
    CustomerParams,
    EmptyParams,
    Params,
    RefundParams,
    SetupParams,
)
from evbilling.payments.psp.sandbox.server import Answer, Operation, SandboxServer, fingerprint
from evbilling.payments.psp.sandbox.store import (
    ApiFailure,
    Effects,
    Outcome,
    balance_transaction_json,
    refund_json,
)
from evbilling.payments.psp.sandbox.webhooks import DEFAULT_RETRY_DELAYS


def create_sandbox_app(
    *,
    database_url: str,
    api_key: str,
    webhook_secret: str,
    webhook_url: str | None,
    clock: Clock,
    public_url: str | None = None,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    webhook_retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
    slow_capture_seconds: float = 30.0,
) -> FastAPI:
    """The sandbox provider as an ASGI app. `public_url` is where browsers reach it (the
    hosted page links); by default the URL each request arrived at. Mounted in another app
    (no lifespan of its own runs), it starts on its first request; call
    `app.state.sandbox.close()` at shutdown."""
    server = SandboxServer(
        database_url=database_url, api_key=api_key, webhook_secret=webhook_secret,
        webhook_url=webhook_url, clock=clock, public_url=public_url,
        webhook_transport=webhook_transport, webhook_retry_delays=webhook_retry_delays,
        slow_capture_seconds=slow_capture_seconds,
    )  # fmt: skip

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await server.start()
        yield
        await server.close()

    app = FastAPI(title="evbilling sandbox payment provider", lifespan=lifespan, openapi_url=None)
    app.state.sandbox = server

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = ", ".join(".".join(str(part) for part in e["loc"][1:]) for e in exc.errors())
        return JSONResponse(
            {"error": {"type": "invalid_request_error", "code": "parameter_invalid",
                       "message": f"invalid parameters: {fields or 'body'}"}},
            status_code=400,
        )  # fmt: skip

    @app.exception_handler(ApiFailure)
    async def _refused(_: Request, exc: ApiFailure) -> JSONResponse:
        return JSONResponse(exc.body, status_code=exc.status)

    app.include_router(_api_router(server))
    app.include_router(page_router(server))
    return app


def _answer(answer: Answer) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


def _api_router(server: SandboxServer) -> APIRouter:
    async def authenticated(request: Request) -> None:
        await server.start()
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.encode(), server.api_key.encode()
        ):
            raise ApiFailure(
                401, type_="authentication_error", code="api_key_invalid",
                message="a valid API key is required (Authorization: Bearer ...)",
            )  # fmt: skip

    router = APIRouter(prefix="/v1", dependencies=[Depends(authenticated)])

    def now() -> datetime:
        return server.clock.now()

    async def write(request: Request, params: Params, operation: Operation) -> JSONResponse:
        key = request.headers.get("idempotency-key")
        if key is not None and not 1 <= len(key) <= 255:
            raise ApiFailure(
                400, type_="invalid_request_error", code="idempotency_key_invalid",
                message="Idempotency-Key must be 1 to 255 characters",
            )  # fmt: skip
        print_ = fingerprint(
            method=request.method, path=request.url.path, params=params.model_dump()
        )
        return _answer(await server.write(key=key, print_=print_, operation=operation))

    async def read(operation: Operation) -> JSONResponse:
        return _answer(await server.read(operation))

    async def expire_first(authorization_id: str) -> None:
        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await ops.expire(conn, effects, now=now(), authorization_id=authorization_id)

        await server.read(run)  # a missing hold is reported by the operation itself

    @router.post("/customers")
    async def create_customer(request: Request, params: CustomerParams) -> Response:
        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await setups.create_customer(
                conn, effects, now=now(), reference=params.reference, email=params.email
            )

        return await write(request, params, run)

    @router.get("/customers/{customer_id}")
    async def get_customer(customer_id: str) -> Response:
        async def run(conn: AsyncConnection, _: Effects) -> Outcome:
            return await setups.get_customer(conn, customer_id=customer_id)

        return await read(run)

    @router.post("/card_setups")
    async def create_setup(request: Request, params: SetupParams) -> Response:
        here = page_url(server, request)

        async def run(conn: AsyncConnection, _: Effects) -> Outcome:
            return await setups.create_setup(
                conn, now=now(), customer_id=params.customer, return_url=params.return_url,
                page_url=here,
            )  # fmt: skip

        return await write(request, params, run)

    @router.get("/card_setups/{setup_id}")
    async def get_setup(request: Request, setup_id: str) -> Response:
        here = page_url(server, request)

        async def run(conn: AsyncConnection, _: Effects) -> Outcome:
            return await setups.get_setup(conn, setup_id=setup_id, page_url=here)

        return await read(run)

    @router.post("/payment_methods/{method_id}/detach")
    async def detach(
        request: Request, method_id: str, params: EmptyParams | None = None
    ) -> Response:
        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await setups.detach_method(conn, effects, now=now(), method_id=method_id)

        return await write(request, params or EmptyParams(), run)

    @router.post("/authorizations")
    async def authorize(request: Request, params: AuthorizationParams) -> Response:
        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await ops.authorize(
                conn, effects, now=now(), currencies=server.currencies,
                reference=params.reference, customer_id=params.customer,
                method_id=params.payment_method, currency=params.currency,
                amount=params.amount, off_session=params.off_session,
                statement_descriptor=params.statement_descriptor,
            )  # fmt: skip

        return await write(request, params, run)

    @router.get("/authorizations")
    async def list_authorizations(reference: str | None = None) -> Response:
        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await ops.list_authorizations(conn, effects, now=now(), reference=reference)

        return await read(run)

    @router.get("/authorizations/{authorization_id}")
    async def retrieve(authorization_id: str) -> Response:
        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await ops.retrieve(conn, effects, now=now(), authorization_id=authorization_id)

        return await read(run)

    @router.post("/authorizations/{authorization_id}/increment")
    async def increment(request: Request, authorization_id: str, params: AmountParams) -> Response:
        await expire_first(authorization_id)

        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await ops.increment(
                conn, effects, now=now(), currencies=server.currencies,
                authorization_id=authorization_id, amount=params.amount,
            )  # fmt: skip

        return await write(request, params, run)

    @router.post("/authorizations/{authorization_id}/capture")
    async def capture(request: Request, authorization_id: str, params: AmountParams) -> Response:
        await expire_first(authorization_id)

        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await ops.capture(
                conn, effects, now=now(), currencies=server.currencies,
                authorization_id=authorization_id, amount=params.amount,
                slow_capture_seconds=server.slow_capture_seconds,
            )  # fmt: skip

        return await write(request, params, run)

    @router.post("/authorizations/{authorization_id}/cancel")
    async def cancel(
        request: Request, authorization_id: str, params: EmptyParams | None = None
    ) -> Response:
        await expire_first(authorization_id)

        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await ops.cancel(conn, effects, now=now(), authorization_id=authorization_id)

        return await write(request, params or EmptyParams(), run)

    @router.post("/refunds")
    async def refund(request: Request, params: RefundParams) -> Response:
        async def run(conn: AsyncConnection, effects: Effects) -> Outcome:
            return await ops.refund(
                conn, effects, now=now(), currencies=server.currencies,
                reference=params.reference, authorization_id=params.authorization,
                amount=params.amount,
            )  # fmt: skip

        return await write(request, params, run)

    @router.get("/refunds")
    async def list_refunds(reference: str | None = None) -> Response:
        async def run(conn: AsyncConnection, _: Effects) -> Outcome:
            query = select(t.refunds).order_by(t.refunds.c.created_us.desc(), t.refunds.c.id.desc())
            if reference is not None:
                query = query.where(t.refunds.c.reference == reference)
            rows = (await conn.execute(query.limit(100))).mappings().all()
            return Outcome(200, {"object": "list", "data": [refund_json(row) for row in rows]})

        return await read(run)

    @router.get("/refunds/{refund_id}")
    async def retrieve_refund(refund_id: str) -> Response:
        async def run(conn: AsyncConnection, _: Effects) -> Outcome:
            row = (
                (await conn.execute(select(t.refunds).where(t.refunds.c.id == refund_id)))
                .mappings()
                .one_or_none()
            )
            if row is None:
                raise ApiFailure(
                    404, type_="invalid_request_error", code="resource_missing",
                    message=f"no such refund: {refund_id[:40]!r}",
                )  # fmt: skip
            return Outcome(200, refund_json(row))

        return await read(run)

    @router.get("/balance_transactions")
    async def balance_transactions(created_gte: datetime, created_lt: datetime) -> Response:
        async def run(conn: AsyncConnection, _: Effects) -> Outcome:
            if created_gte.tzinfo is None or created_lt.tzinfo is None:
                raise ApiFailure(
                    400, type_="invalid_request_error", code="parameter_invalid",
                    message="created_gte and created_lt need a time zone",
                )  # fmt: skip
            column = t.balance_transactions.c.created_us
            rows = (
                (
                    await conn.execute(
                        select(t.balance_transactions)
                        .where(column >= t.to_us(created_gte), column < t.to_us(created_lt))
                        .order_by(column, t.balance_transactions.c.id)
                    )
                )
                .mappings()
                .all()
            )
            data = [balance_transaction_json(row) for row in rows]
            return Outcome(200, {"object": "list", "data": data})

        return await read(run)

    @router.get("/_control/authorizations/{authorization_id}/captures")
    async def captures_of(authorization_id: str) -> Response:
        """Test control: every capture the sandbox made on a hold (proves 'exactly once')."""

        async def run(conn: AsyncConnection, _: Effects) -> Outcome:
            rows = (
                (
                    await conn.execute(
                        select(t.captures)
                        .where(t.captures.c.authorization_id == authorization_id)
                        .order_by(t.captures.c.id)
                    )
                )
                .mappings()
                .all()
            )
            data: list[dict[str, Any]] = [
                {"amount": row["amount"], "created": t.from_us(row["created_us"]).isoformat()}
                for row in rows
            ]
            return Outcome(200, {"object": "list", "data": data})

        return await read(run)

    @router.get("/_control/events")
    async def events_of(object_id: str | None = None) -> Response:
        """Test control: the events recorded (in order), optionally about one object."""

        async def run(conn: AsyncConnection, _: Effects) -> Outcome:
            query = select(t.events).order_by(t.events.c.created_us, t.events.c.id)
            if object_id is not None:
                query = query.where(t.events.c.object_id == object_id)
            rows = (await conn.execute(query)).mappings().all()
            data = [
                {"id": row["id"], "type": row["type"], "object_id": row["object_id"],
                 "object_status": row["object_status"]}
                for row in rows
            ]  # fmt: skip
            return Outcome(200, {"object": "list", "data": data})

        return await read(run)

    return router
