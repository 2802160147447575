"""Assembles the REST API: routers, problem-document errors, OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from fastapi import FastAPI

from evbilling.api import catalog, operations
from evbilling.api.errors import install_error_handlers
from evbilling.services.context import ServiceContext


def create_api(*, context: ServiceContext) -> FastAPI:
    api = FastAPI(
        title="evbilling operator API",
        version="1",
        description=(
            "Stations, tokens, tariffs and priced charging sessions. Authenticate with an API "
            "key (`evbilling apikey create`) as `Authorization: Bearer <key>`. Errors are "
            "RFC 9457 problem documents."
        ),
    )
    api.state.context = context
    install_error_handlers(api)
    api.include_router(catalog.router)
    api.include_router(operations.router)
    return api
