"""`evbilling apikey`: operator API keys; and the operator a single-tenant CLI works for."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.schemas import ApiKeyIssuedRead
from evbilling.access.service import create_api_key, ensure_operator
from evbilling.infra.cli import JsonOption, emit, run_in_unit_of_work

DEFAULT_OPERATOR_NAME = "Default operator"

apikey_app = typer.Typer(help="Operator API keys.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(apikey_app, name="apikey")


async def default_operator(*, db: AsyncSession, now: datetime) -> int:
    """The installation's operator, created on first use (`infra.cli.use(operator_of=...)`)."""
    return await ensure_operator(db=db, name=DEFAULT_OPERATOR_NAME, now=now)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="What the key is for.")] = "operator",
    as_json: bool = JsonOption,
) -> None:
    """Create an API key; it is shown once and stored only as an argon2 hash."""

    async def work(db: Any, context: Any, operator_id: int) -> ApiKeyIssuedRead:
        issued = await create_api_key(
            db=db, operator_id=operator_id, name=name, now=context.clock.now()
        )
        return ApiKeyIssuedRead.model_validate(issued)

    issued = run_in_unit_of_work(work)
    emit(issued, as_json=as_json, text=lambda k: f"API key {k.id} ({k.name}): {k.key}")
