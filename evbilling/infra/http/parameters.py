"""Path and query parameters neither database could store are refused, named, with a 422.

Request bodies are checked by the `Input` schema base; parameters are validated by FastAPI
one by one, so this check is a dependency of every API route (`new_api`): it reads the
route's declared parameters and refuses, before the route runs, an integer parameter beyond
64 bits (`/sessions/99999999999999999999999`, `?after=...`) and any parameter holding U+0000.
It looks at the raw text the way FastAPI will parse it, so what it lets through is what the
route receives. Being a check of the request's form only, it answers before the API key is
looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError

from evbilling.infra.validation import INT64_MESSAGE, MAX_INT64, MIN_INT64, NUL, NUL_MESSAGE

_INTEGER = TypeAdapter(int)


def _admits_int(annotation: Any) -> bool:
    """Whether a parameter's type is, or has as an alternative, an integer (not a flag)."""
    if isinstance(annotation, type):
        return issubclass(annotation, int) and not issubclass(annotation, bool)
    return any(_admits_int(argument) for argument in get_args(annotation))


def _declared(dependant: Dependant) -> Iterator[tuple[str, str, bool]]:
    """(where, name, integral) of every path and query parameter, sub-dependencies too."""
    for field in dependant.path_params:
        yield "path", field.alias, _admits_int(field.field_info.annotation)
    for field in dependant.query_params:
        yield "query", field.alias, _admits_int(field.field_info.annotation)
    for sub in dependant.dependencies:
        yield from _declared(sub)


def unstorable_parameter(raw: str, *, integral: bool) -> str | None:
    """Why a parameter's raw text cannot be accepted, or None."""
    if NUL in raw:
        return NUL_MESSAGE
    if integral:
        try:
            value = _INTEGER.validate_python(raw)
        except ValidationError:
            return None  # not an integer at all: the route's own validation says so
        if not MIN_INT64 <= value <= MAX_INT64:
            return INT64_MESSAGE
    return None


async def refuse_unstorable_parameters(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    errors: list[dict[str, Any]] = []
    for where, name, integral in _declared(route.dependant):
        given = (
            [request.path_params[name]] if where == "path" and name in request.path_params else []
        )
        if where == "query":
            given = request.query_params.getlist(name)
        for raw in given:
            message = unstorable_parameter(str(raw), integral=integral)
            if message is not None:
                errors.append({"type": "value_error", "loc": (where, name), "msg": message})
    if errors:
        raise RequestValidationError(errors)
