"""The one place that maps evbilling errors to HTTP: RFC 9457 problem documents."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from evbilling.access.service import InvalidApiKey
from evbilling.infra.station_link import CommandRejected, StationNotConnected, StationTimeout
from evbilling.kit import EVBillingError
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound

PROBLEM = "application/problem+json"
_BASE = "https://evbilling.dev/problems/"


def problem(
    *, status: int, title: str, detail: str, kind: str, extra: dict[str, Any] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"type": _BASE + kind, "title": title, "status": status}
    body["detail"] = detail
    body.update(extra or {})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_path(err.get("loc", ())), "message": err.get("msg", "invalid")}
            for err in exc.errors()
        ]
        return problem(
            status=422,
            title="Invalid request",
            detail="; ".join(f"{e['field']}: {e['message']}" for e in errors),
            kind="validation",
            extra={"errors": errors},
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(
            status=exc.status_code,
            title=str(exc.detail) if exc.status_code != 404 else "Not found",
            detail=str(exc.detail),
            kind=f"http-{exc.status_code}",
        )

    @app.exception_handler(EVBillingError)
    async def on_domain(_: Request, exc: EVBillingError) -> JSONResponse:
        return _map(exc)


def _map(exc: EVBillingError) -> JSONResponse:
    detail = str(exc)
    if isinstance(exc, InvalidApiKey):
        return problem(status=401, title="Unauthorized", detail=detail, kind="unauthorized")
    if isinstance(exc, NotFound):
        return problem(status=404, title="Not found", detail=detail, kind="not-found")
    if isinstance(exc, Conflict):
        return problem(status=409, title="Conflict", detail=detail, kind="conflict")
    if isinstance(exc, StationNotConnected):
        return problem(
            status=409, title="Station not connected", detail=detail, kind="station-offline"
        )
    if isinstance(exc, StationTimeout):
        return problem(
            status=504, title="Station did not answer", detail=detail, kind="station-timeout"
        )
    if isinstance(exc, CommandRejected):
        return problem(
            status=502,
            title="Station answered with an error",
            detail=detail,
            kind="station-error",
            extra={"ocpp_error": exc.code, "ocpp_description": exc.description},
        )
    if isinstance(exc, InvalidRequest):
        if exc.errors:  # several fields at once; the message already names them
            errors = [{"field": field, "message": message} for field, message in exc.errors]
        else:
            errors = [{"field": exc.field or "body", "message": detail}]
            detail = f"{exc.field}: {detail}" if exc.field else detail
        return problem(
            status=422,
            title="Invalid request",
            detail=detail,
            kind="validation",
            extra={"errors": errors},
        )
    # Any other named domain failure is the client's to fix (bad currency, weak password...).
    field = getattr(exc, "field", None)
    return problem(
        status=422,
        title=type(exc).__name__,
        detail=detail,
        kind="validation",
        extra={"errors": [{"field": field or "body", "message": detail}]},
    )
