"""`evbilling apikey ...` and `evbilling operator ...`: API keys and operators, against the
database. The other slices' commands work for the installation's operator (the first one,
created on first use); `--operator` points the key commands at another one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access import service as access
from evbilling.access.domain import Scope
from evbilling.access.schemas import (
    ApiKeyIssuedRead,
    ApiKeyList,
    ApiKeyRead,
    OperatorCreatedRead,
    OperatorList,
)
from evbilling.infra.cli import (
    JsonOption,
    LimitOption,
    OffsetOption,
    emit_page,
    emit_read,
    run_unscoped_command,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.repository import OffsetPage, PageRequest
from evbilling.models import ApiKey

DEFAULT_OPERATOR_NAME = "Default operator"

apikey_app = typer.Typer(help="Operator API keys.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators of a multi-operator installation.", no_args_is_help=True)

OperatorOption = Annotated[
    int | None,
    typer.Option(
        "--operator", min=1, help="Operator id; the installation's (first) operator if left out."
    ),
]
_KEY_COLUMNS = ["id", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
_OPERATOR_COLUMNS = ["id", "name", "created_at", "active_api_keys"]


def register(app: typer.Typer) -> None:
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(operator_app, name="operator")


async def default_operator(*, db: AsyncSession, now: datetime) -> int:
    """The installation's operator, created on first use (`infra.cli.use(operator_of=...)`)."""
    return await access.ensure_operator(db=db, name=DEFAULT_OPERATOR_NAME, now=now)


async def _operator_id(db: AsyncSession, context: ServiceContext, operator: int | None) -> int:
    if operator is None:
        return await default_operator(db=db, now=context.clock.now())
    return await access.check_operator(db=db, operator_id=operator)


def _issued_text(key: dict[str, Any]) -> str:
    return (
        f"API key {key['id']} ({key['name']}) of operator {key['operator_id']}, "
        f"shown once: {key['key']}"
    )


def _operator_text(created: dict[str, Any]) -> str:
    return (
        f"operator {created['id']} ({created['name']}) created\n{_issued_text(created['api_key'])}"
    )


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="What the key is for.")] = "operator",
    operator: OperatorOption = None,
    scope: Annotated[
        list[Scope] | None,
        typer.Option("--scope", help="A scope beyond the everyday routes (repeatable)."),
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Issue an API key; it is shown once and stored only as an HMAC-SHA256 digest."""

    async def work(db: AsyncSession, context: ServiceContext) -> access.IssuedApiKey:
        return await access.create_api_key(
            db=db,
            operator_id=await _operator_id(db, context, operator),
            name=name,
            now=context.clock.now(),
            hasher=context.api_keys,
            scopes=[item.value for item in scope or []],
        )

    issued = ApiKeyIssuedRead.model_validate(run_unscoped_command(work))
    emit_read(issued, as_json=as_json, text=_issued_text)


@apikey_app.command("list")
def apikey_list(
    operator: OperatorOption = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    as_json: bool = JsonOption,
) -> None:
    """List API keys: id, name, public prefix, created, last used, revoked (never a key)."""

    async def work(db: AsyncSession, context: ServiceContext) -> OffsetPage[ApiKey]:
        return await access.list_api_keys(
            db=db,
            operator_id=await _operator_id(db, context, operator),
            page=PageRequest(limit=limit, offset=offset),
        )

    emit_page(
        ApiKeyList.model_validate(run_unscoped_command(work)), as_json=as_json, columns=_KEY_COLUMNS
    )


@apikey_app.command("revoke")
def apikey_revoke(key_id: int, operator: OperatorOption = None, as_json: bool = JsonOption) -> None:
    """Revoke an API key; every server refuses it from its next request on."""

    async def work(db: AsyncSession, context: ServiceContext) -> ApiKey:
        return await access.revoke_api_key(
            db=db,
            operator_id=await _operator_id(db, context, operator),
            key_id=key_id,
            now=context.clock.now(),
        )

    emit_read(ApiKeyRead.model_validate(run_unscoped_command(work)), as_json=as_json)


@operator_app.command("create")
def operator_create(
    name: Annotated[str, typer.Argument(help="The operator's name.")],
    as_json: bool = JsonOption,
) -> None:
    """Create an operator; prints its id and its first API key (shown once)."""

    async def work(db: AsyncSession, context: ServiceContext) -> access.CreatedOperator:
        return await access.create_operator(
            db=db, name=name, now=context.clock.now(), hasher=context.api_keys
        )

    created = OperatorCreatedRead.model_validate(run_unscoped_command(work))
    emit_read(created, as_json=as_json, text=_operator_text)


@operator_app.command("list")
def operator_list(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List operators with their number of active API keys."""

    async def work(db: AsyncSession, context: ServiceContext) -> Any:
        return await access.list_operators(db=db, page=PageRequest(limit=limit, offset=offset))

    page = OperatorList.model_validate(run_unscoped_command(work))
    emit_page(page, as_json=as_json, columns=_OPERATOR_COLUMNS)
