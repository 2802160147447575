"""Shared plumbing for CLI commands: one unit of work per command, calls to the running
server's API, text or JSON output.

The root command reads the settings once and hands this module what commands need through
`use(...)`; slice CLIs then call `run_in_unit_of_work` and `call_api`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Protocol, TypeVar

import httpx
import typer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.secrets import ApiKeyHasher
from evbilling.infra.validation import MAX_PAGE_LIMIT
from evbilling.kit import EVBillingError, SystemClock
from evbilling.kit.errors import InvalidRequest
from evbilling.kit.values import InvalidValue, ValidatedText

T = TypeVar("T")

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


class OperatorOf(Protocol):
    """The operator a command works for, found (or created) in its unit of work."""

    async def __call__(self, *, db: AsyncSession, now: datetime) -> int: ...


@dataclass(frozen=True, slots=True)
class CliSettings:
    database_url: str
    # The running server commands to stations go through, and the API key they present.
    api_url: str
    api_key: str | None
    operator_of: OperatorOf
    # Digests of the API keys commands issue (the server's secret, read on first use).
    api_keys: ApiKeyHasher


_settings: CliSettings | None = None


def use(
    *,
    database_url: str,
    api_url: str,
    api_key: str | None,
    operator_of: OperatorOf,
    api_keys: ApiKeyHasher,
) -> None:
    """What the commands of this run work with (called once, by the root command)."""
    global _settings
    _settings = CliSettings(
        database_url=database_url,
        api_url=api_url,
        api_key=api_key,
        operator_of=operator_of,
        api_keys=api_keys,
    )


def settings() -> CliSettings:
    if _settings is None:
        raise RuntimeError("the root command calls infra.cli.use(...) before any command runs")
    return _settings


def run_in_unit_of_work(work: Callable[[AsyncSession, ServiceContext, int], Awaitable[T]]) -> T:
    """Run `work(db, context, operator_id)` in one transaction and commit it.

    A named evbilling error ends the command with its message and exit code 1.
    """

    async def scoped(db: AsyncSession, context: ServiceContext) -> T:
        operator_id = await settings().operator_of(db=db, now=context.clock.now())
        return await work(db, context, operator_id)

    return run_unscoped(scoped)


def run_unscoped(work: Callable[[AsyncSession, ServiceContext], Awaitable[T]]) -> T:
    """run_in_unit_of_work without an operator: for commands about operators themselves."""

    async def run() -> T:
        config = settings()
        engine = create_engine(url=config.database_url)
        context = ServiceContext(
            session_factory=create_session_factory(engine),
            clock=SystemClock(),
            api_keys=config.api_keys,
        )
        try:
            async with context.unit_of_work() as db:
                result = await work(db, context)
                await db.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except EVBillingError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc


def call_api(*, method: str, path: str, body: dict[str, Any] | None, timeout: float) -> Any:
    """Call the running server's operator API (/api/v1); an error ends the command (exit 1,
    or 2 without an API key) with the problem's title and detail."""
    config = settings()
    if not config.api_key:
        typer.secho(
            "error: set EVBILLING_API_KEY (see `evbilling apikey create`)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=2)
    try:
        response = httpx.request(
            method,
            f"{config.api_url.rstrip('/')}/api/v1{path}",
            json=body,
            params={"timeout": timeout},
            timeout=timeout + 5,
            headers={"Authorization": f"Bearer {config.api_key}"},
        )
    except httpx.HTTPError as exc:
        typer.secho(f"error: cannot reach {config.api_url}: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc
    data = response.json()
    if response.status_code >= 400:
        typer.secho(
            f"error: {data.get('title')}: {data.get('detail')}", fg=typer.colors.RED, err=True
        )
        raise typer.Exit(code=1)
    return data


def to_jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(asdict(value))
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def emit(value: Any, *, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    """Print a result as JSON (--json) or as readable text."""
    if as_json or text is None:
        sys.stdout.write(json.dumps(to_jsonable(value), indent=2) + "\n")
    else:
        sys.stdout.write(text(value) + "\n")


def table(rows: list[dict[str, Any]], *, columns: list[str]) -> str:
    """A plain aligned text table."""
    cells = [
        [str(to_jsonable(row.get(col)) if row.get(col) is not None else "") for col in columns]
        for row in rows
    ]
    widths = [max([len(col)] + [len(r[i]) for r in cells]) for i, col in enumerate(columns)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Commands over the services of a slice: one unit of work, fields named, read schemas printed.

LimitOption = Annotated[int, typer.Option(min=1, max=MAX_PAGE_LIMIT, help="Page size.")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Rows to skip.")]
ClearOption = Annotated[
    list[str] | None, typer.Option("--clear", help="Empty an optional field (repeatable).")
]


def run_command(work: Callable[[AsyncSession, ServiceContext, int], Awaitable[T]]) -> T:
    """run_in_unit_of_work, with the rejected field named in the message: a terminal has no
    problem document to carry it."""

    async def named(db: AsyncSession, context: ServiceContext, operator_id: int) -> T:
        return await _field_named(work(db, context, operator_id))

    return run_in_unit_of_work(named)


def run_unscoped_command(work: Callable[[AsyncSession, ServiceContext], Awaitable[T]]) -> T:
    """run_unscoped, with the rejected field named in the message (as run_command)."""

    async def named(db: AsyncSession, context: ServiceContext) -> T:
        return await _field_named(work(db, context))

    return run_unscoped(named)


async def _field_named(work: Awaitable[T]) -> T:
    try:
        return await work
    except InvalidRequest as exc:
        if exc.field is None or exc.errors:  # several fields: the message names them
            raise
        raise InvalidRequest(f"{exc.field}: {exc}", field=exc.field) from exc


def fields_of(read: BaseModel) -> dict[str, Any]:
    """A read schema's fields as the CLI prints them (`emit`, `details`): datetimes in ISO
    8601 with their offset, decimals as strings, enums as their values."""
    data: dict[str, Any] = to_jsonable(read.model_dump())
    return data


def details(data: dict[str, Any], *, skip: tuple[str, ...] = ()) -> str:
    """One `name  value` line per field."""
    width = max(len(key) for key in data)
    return "\n".join(
        f"{key.ljust(width)}  {'' if item is None else item}"
        for key, item in data.items()
        if key not in skip
    )


def page_text(page: dict[str, Any], *, columns: list[str]) -> str:
    """A page as a table: an offset page (items, total, offset) with a `(first-last of
    total)` footer, a keyset page (items, next_after) with how to ask for the next one."""
    rows: list[dict[str, Any]] = page["items"]
    if "offset" not in page:
        following = page.get("next_after")
        footer = "(no more)" if following is None else f"(more: --after {following})"
        return f"{table(rows, columns=columns)}\n{footer}"
    shown = f"{page['offset'] + 1}-{page['offset'] + len(rows)}" if rows else "none"
    return f"{table(rows, columns=columns)}\n({shown} of {page['total']})"


def partial_changes(
    given: dict[str, Any], *, clear: Sequence[str] | None, clearable: dict[str, str]
) -> dict[str, Any]:
    """The keyword arguments of a partial update: options given, plus `--clear` ones as None.
    `clearable` maps the CLI names (--clear tariff) to the service's (tariff_id)."""
    changes = {name: value for name, value in given.items() if value is not None}
    for name in clear or ():
        field = clearable.get(name)
        if field is None:
            choices = ", ".join(sorted(clearable)) or "nothing"
            raise typer.BadParameter(
                f"cannot clear {name!r}; clearable: {choices}", param_hint="--clear"
            )
        if field in changes:
            raise typer.BadParameter(f"{name} is both set and cleared", param_hint="--clear")
        changes[field] = None
    return changes


def parsed_as(kind: type[ValidatedText]) -> Callable[[str], str]:
    """A Typer `parser` reading an option with a value object's rule (exit 2 with its
    message when the text breaks it)."""

    def parse(text: str) -> str:
        try:
            return kind.parse(text)
        except InvalidValue as exc:
            raise typer.BadParameter(str(exc)) from exc

    return parse


def emit_read(
    read: BaseModel, *, as_json: bool, text: Callable[[dict[str, Any]], str] = details
) -> None:
    """One object as the API shows it: JSON, or one `name  value` line per field."""
    emit(fields_of(read), as_json=as_json, text=text)


def emit_page(page: BaseModel, *, as_json: bool, columns: list[str]) -> None:
    """A page of objects: JSON, or a table of `columns`."""
    emit(fields_of(page), as_json=as_json, text=lambda data: page_text(data, columns=columns))
