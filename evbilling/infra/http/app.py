"""An API application as every mounted API gets it: the service context, problem documents
for every error, and a request id on every request and response."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Depends, FastAPI, Request, Response

from evbilling.infra.context import ServiceContext
from evbilling.infra.http.addresses import client_address
from evbilling.infra.http.parameters import refuse_unstorable_parameters
from evbilling.infra.http.problems import ProblemRegistry, install_error_handlers
from evbilling.infra.logging import bind_request, unbind_request

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's own id is kept only when it is short and plain, so it cannot forge log lines.
_CALLER_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_for(given: str | None) -> str:
    """The caller's X-Request-ID when it is plain enough to log, else a new one."""
    if given is not None and _CALLER_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def new_api(
    *, title: str, description: str, context: ServiceContext, registry: ProblemRegistry
) -> FastAPI:
    api = FastAPI(
        title=title,
        version="1",
        description=description,
        # Before any route's own parameters and dependencies: values no database can store.
        dependencies=[Depends(refuse_unstorable_parameters)],
    )
    api.state.context = context
    install_error_handlers(api, registry=registry)

    @api.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request.state.request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER))
        bind_request(
            request_id=request.state.request_id,
            method=request.method,
            address=client_address(request.scope),
        )
        try:
            response = await call_next(request)
        except Exception as exc:
            response = registry.response(exc, request_id=request.state.request_id)
        finally:
            unbind_request()
        response.headers[REQUEST_ID_HEADER] = request.state.request_id
        return response

    return api
