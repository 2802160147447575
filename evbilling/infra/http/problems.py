"""The one place that turns errors into HTTP: RFC 9457 problem documents.

`ProblemRegistry` maps error classes to a status, title and type explicitly; the most
specific registered base class of a raised error wins. The composition root registers each
slice's errors (see `main.py`). Anything not registered, named evbilling error or not, is a
server fault: a 500 problem document carrying the request id, logged with its traceback —
never a bare text page and never a 422 that would tell the client to fix its request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from evbilling.infra.logging import get_logger
from evbilling.kit.errors import Conflict, EVBillingError, InvalidRequest, NotFound

PROBLEM = "application/problem+json"
_BASE = "https://evbilling.dev/problems/"

_log = get_logger(__name__)

Extra = Callable[[Exception], dict[str, Any]]


def problem_document(*, status: int, title: str, detail: str, kind: str) -> dict[str, Any]:
    return {"type": _BASE + kind, "title": title, "status": status, "detail": detail}


def problem(
    *,
    status: int,
    title: str,
    detail: str,
    kind: str,
    extra: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> JSONResponse:
    body = problem_document(status=status, title=title, detail=detail, kind=kind)
    body.update(extra or {})
    if request_id is not None:
        body["request_id"] = request_id
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


@dataclass(frozen=True, slots=True)
class ProblemType:
    status: int
    title: str
    kind: str
    extra: Extra | None = None


def _field_errors(exc: Exception) -> dict[str, Any]:
    """The `errors` list of a validation problem: every (field, message) the error names."""
    if isinstance(exc, InvalidRequest) and exc.errors:
        return {"errors": [{"field": f, "message": m} for f, m in exc.errors]}
    field = getattr(exc, "field", None)
    return {"errors": [{"field": field or "body", "message": str(exc)}]}


def _validation_detail(exc: Exception) -> str:
    field = getattr(exc, "field", None)
    has_many = isinstance(exc, InvalidRequest) and bool(exc.errors)
    return f"{field}: {exc}" if field and not has_many else str(exc)


class ProblemRegistry:
    def __init__(self) -> None:
        self._types: dict[type[Exception], ProblemType] = {}
        # The generic failures every slice raises.
        self.register(NotFound, status=404, title="Not found", kind="not-found")
        self.register(Conflict, status=409, title="Conflict", kind="conflict")
        self.register_validation(InvalidRequest)

    def register(
        self,
        error: type[Exception],
        *,
        status: int,
        title: str,
        kind: str,
        extra: Extra | None = None,
    ) -> None:
        self._types[error] = ProblemType(status=status, title=title, kind=kind, extra=extra)

    def register_validation(
        self, error: type[Exception], *, title: str = "Invalid request"
    ) -> None:
        """An error the client fixes by changing its request: 422 with field errors."""
        self.register(error, status=422, title=title, kind="validation", extra=_field_errors)

    def lookup(self, error: type[Exception]) -> ProblemType | None:
        for cls in error.__mro__:
            found = self._types.get(cls)
            if found is not None:
                return found
        return None

    def response(self, exc: Exception, *, request_id: str | None) -> JSONResponse:
        found = self.lookup(type(exc))
        if found is None:
            _log.exception("http.unhandled_error", request_id=request_id, error=type(exc).__name__)
            return problem(
                status=500,
                title="Internal server error",
                detail="The server failed to handle this request; it has been logged.",
                kind="internal",
                request_id=request_id,
            )
        detail = _validation_detail(exc) if found.status == 422 else str(exc)
        return problem(
            status=found.status,
            title=found.title,
            detail=detail,
            kind=found.kind,
            extra=found.extra(exc) if found.extra else None,
            request_id=request_id,
        )


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def request_id_of(request: Request) -> str | None:
    value = getattr(request.state, "request_id", None)
    return value if isinstance(value, str) else None


def install_error_handlers(app: FastAPI, *, registry: ProblemRegistry) -> None:
    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
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
            request_id=request_id_of(request),
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(
            status=exc.status_code,
            title=str(exc.detail) if exc.status_code != 404 else "Not found",
            detail=str(exc.detail),
            kind=f"http-{exc.status_code}",
            request_id=request_id_of(request),
        )

    # Named failures here; any other exception is turned into a problem document by the
    # request middleware of `infra.http.app`, the outermost layer that still answers.
    @app.exception_handler(EVBillingError)
    async def on_error(request: Request, exc: EVBillingError) -> JSONResponse:
        return registry.response(exc, request_id=request_id_of(request))
