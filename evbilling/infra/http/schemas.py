"""What every slice's API schemas and routes are built from: request and response bases, the
page envelope, page query parameters, value objects as fields, the problem documents as
OpenAPI shows them, and the headers of created and secret-bearing responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request, Response
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from evbilling.infra.validation import MAX_PAGE_LIMIT, is_blank, unstorable_values
from evbilling.kit.errors import InvalidRequest
from evbilling.kit.values import InvalidValue, ValidatedText

T = TypeVar("T")


class Input(BaseModel):
    """A request body: unknown fields are refused, not ignored; integers beyond 64 bits and
    text holding U+0000 anywhere in it (nested documents too) are refused before any field
    is read, with every such field named (neither database could store them)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        found = unstorable_values(data)
        if found:
            # Not a pydantic error: this one carries its fields' paths (InvalidRequest, 422).
            detail = "; ".join(f"{field}: {message}" for field, message in found)
            raise InvalidRequest(detail, field=found[0][0], errors=found)
        return data


class Output(BaseModel):
    """A response body, validated straight from an ORM row or a service result."""

    model_config = ConfigDict(from_attributes=True)


class PageRead(Output, Generic[T]):
    """One page of a list; validates from a repository's OffsetPage (whose `rows` are the
    items)."""

    items: list[T] = Field(validation_alias=AliasChoices("items", "rows"))
    total: int = Field(description="Objects matching the filters, across all pages.")
    limit: int
    offset: int


def _not_null(value: T | None) -> T:
    if value is None:
        raise ValueError("may be left out but not set to null")
    return value


# Optional in a PATCH body, but cannot be cleared.
NotNull = AfterValidator(_not_null)

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_LIMIT, description="Page size (1..500).")]
Offset = Annotated[int, Query(ge=0, description="Objects to skip.")]


@dataclass(frozen=True, slots=True)
class ParsedAs:
    """`Annotated[str, ParsedAs(StationIdentity)]`: the field is parsed by the value object
    (its rule, its message) and OpenAPI documents the value object's pattern and length.
    With `blank_is_none`, blank text reads as null, as the services read optional fields."""

    kind: type[ValidatedText]
    blank_is_none: bool = False

    def _parse(self, value: Any) -> Any:
        if self.blank_is_none and is_blank(value):
            return None
        try:
            return self.kind.parse(value)
        except InvalidValue as exc:
            # The rule's own words, without pydantic's "Value error, " in front.
            raise PydanticCustomError("value_error", str(exc)) from exc

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._parse, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        # PATTERN is matched whole (fullmatch); JSON Schema patterns search, hence anchors.
        json_schema["pattern"] = f"^(?:{self.kind.PATTERN.pattern})$"
        json_schema["maxLength"] = self.kind.MAX_LENGTH
        return json_schema


# ---------------------------------------------------------------------------------------------
# Errors, as documented in OpenAPI (the handlers live in infra/http/problems.py)


class ProblemFieldError(BaseModel):
    field: str = Field(description="The offending field, dotted for nested ones.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document (served as application/problem+json)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemFieldError] | None = Field(
        default=None, description="Present on 422: one entry per rejected field."
    )


_PROBLEMS: dict[int, str] = {
    401: "Missing, unknown or revoked API key.",
    403: "The API key lacks the scope this route needs.",
    404: "No such object for this operator.",
    409: "The request conflicts with existing data (duplicate identity, UID, connector).",
    422: "The request is invalid; `errors` names the fields.",
    429: "Too many failed attempts; try again after the Retry-After header's seconds.",
    503: "A service this request depends on did not answer; try again.",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a route: 401 and 422 always, plus the given codes."""
    # `model` registers the schema (FastAPI lists it as application/json); the handlers really
    # answer application/problem+json, so that media type is documented too.
    problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {
        code: {
            "model": Problem,
            "description": _PROBLEMS[code],
            "content": {"application/problem+json": problem},
        }
        for code in (401, 422, *codes)
    }


# ---------------------------------------------------------------------------------------------
# Response headers


def set_location(response: Response, request: Request, route: str, **path: int) -> None:
    """The Location header of a 201: the URL of the route that reads the new object."""
    response.headers["Location"] = str(request.url_for(route, **path))


def no_store(response: Response) -> None:
    """A response carrying a password is shown once: no cache may keep it."""
    response.headers["Cache-Control"] = "no-store"
