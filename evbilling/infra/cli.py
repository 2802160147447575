"""Shared plumbing for CLI commands: one unit of work per command, text or JSON output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.service import ensure_operator
from evbilling.config import Settings, load_settings
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.kit import EVBillingError, SystemClock

T = TypeVar("T")

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")

DEFAULT_OPERATOR_NAME = "Default operator"


def settings() -> Settings:
    return load_settings()


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
                operator_id = await ensure_operator(
                    db=db, name=DEFAULT_OPERATOR_NAME, now=context.clock.now()
                )
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
