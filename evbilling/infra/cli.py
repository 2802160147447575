"""Shared plumbing for CLI commands: one unit of work per command, calls to the running
server's API, text or JSON output.

The root command reads the settings once and hands this module what commands need through
`use(...)`; slice CLIs then call `run_in_unit_of_work` and `call_api`.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import httpx
import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.kit import EVBillingError, SystemClock

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


_settings: CliSettings | None = None


def use(*, database_url: str, api_url: str, api_key: str | None, operator_of: OperatorOf) -> None:
    """What the commands of this run work with (called once, by the root command)."""
    global _settings
    _settings = CliSettings(
        database_url=database_url, api_url=api_url, api_key=api_key, operator_of=operator_of
    )


def settings() -> CliSettings:
    if _settings is None:
        raise RuntimeError("the root command calls infra.cli.use(...) before any command runs")
    return _settings


def run_in_unit_of_work(work: Callable[[AsyncSession, ServiceContext, int], Awaitable[T]]) -> T:
    """Run `work(db, context, operator_id)` in one transaction and commit it.

    A named evbilling error ends the command with its message and exit code 1.
    """

    async def run() -> T:
        config = settings()
        engine = create_engine(url=config.database_url)
        context = ServiceContext(
            session_factory=create_session_factory(engine), clock=SystemClock()
        )
        try:
            async with context.unit_of_work() as db:
                operator_id = await config.operator_of(db=db, now=context.clock.now())
                result = await work(db, context, operator_id)
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
