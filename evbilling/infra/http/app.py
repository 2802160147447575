"""An API application as every mounted API gets it: the service context, problem documents
for every error, and a request id on every request and response."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from evbilling.infra.context import ServiceContext
from evbilling.infra.http.problems import ProblemRegistry, install_error_handlers
from evbilling.infra.logging import bind_request, unbind_request

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's own id is kept only when it is short and plain, so it cannot forge log lines.
_CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _request_id(request: Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is not None and _CALLER_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def new_api(
    *, title: str, description: str, context: ServiceContext, registry: ProblemRegistry
) -> FastAPI:
    api = FastAPI(title=title, version="1", description=description)
    api.state.context = context
    install_error_handlers(api, registry=registry)

    @api.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = _request_id(request)
        bind_request(request_id=request.state.request_id, method=request.method)
        try:
            response = await call_next(request)
        except Exception as exc:
            response = registry.response(exc, request_id=request.state.request_id)
        finally:
            unbind_request()
        response.headers[REQUEST_ID_HEADER] = request.state.request_id
        return response

    return api
