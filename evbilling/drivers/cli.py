"""`evbilling driver|group|token ...`: drivers, driver groups (fleets) and tokens from the
command line. Each command is one service call in one committed transaction for the
installation's operator; `--clear FIELD` empties an optional field on update; `--json` prints
machine output."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers import service as drivers
from evbilling.drivers.domain import Email, IdTag, PaymentPreference, TokenStatus, TokenType
from evbilling.drivers.schemas import (
    DriverGroupList,
    DriverGroupRead,
    DriverList,
    DriverRead,
    TokenList,
    TokenRead,
)
from evbilling.infra.cli import (
    ClearOption,
    JsonOption,
    LimitOption,
    OffsetOption,
    emit_page,
    emit_read,
    parsed_as,
    partial_changes,
    run_command,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.repository import PageRequest
from evbilling.kit.clock import InvalidTimestamp, parse_utc_timestamp
from evbilling.tariffs.cli import TariffOption

driver_app = typer.Typer(help="Drivers.", no_args_is_help=True)
group_app = typer.Typer(help="Driver groups (fleets) and their tariffs.", no_args_is_help=True)
token_app = typer.Typer(help="Tokens (OCPP idTags, RFID cards).", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(driver_app, name="driver")
    root.add_typer(group_app, name="group")
    root.add_typer(token_app, name="token")


def _timestamp(text: str) -> datetime:
    try:
        return parse_utc_timestamp(text, assume_utc_when_naive=False)
    except InvalidTimestamp as exc:
        raise typer.BadParameter(f"{exc} (e.g. 2027-01-01T00:00:00Z)") from exc


_GROUP_COLUMNS = ["id", "name", "tariff_id"]
_DRIVER_COLUMNS = ["id", "name", "email", "tariff_id", "group_id"]
_TOKEN_COLUMNS = ["id", "uid", "type", "status", "driver_id", "expires_at"]
GroupOption = Annotated[int | None, typer.Option("--group", help="Driver group id.")]
EmailOption = Annotated[str | None, typer.Option(parser=parsed_as(Email))]
ParentIdTagOption = Annotated[str | None, typer.Option(parser=parsed_as(IdTag))]
ExpiresOption = Annotated[
    datetime | None,
    typer.Option(
        "--expires", parser=_timestamp, help="RFC 3339 with zone, e.g. 2027-01-01T00:00:00Z."
    ),
]

# ---------------------------------------------------------------------------------------------
# Driver groups (fleets)


@group_app.command("add")
def group_add(
    name: Annotated[str, typer.Option()],
    tariff: Annotated[
        int | None, typer.Option("--tariff", help="Tariff id for the group's drivers.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Create a driver group."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.create_driver_group(
            db=db, operator_id=operator_id, name=name, tariff_id=tariff, now=context.clock.now()
        )

    emit_read(DriverGroupRead.model_validate(run_command(work)), as_json=as_json)


@group_app.command("list")
def group_list(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List driver groups."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.list_driver_groups(
            db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
        )

    page = DriverGroupList.model_validate(run_command(work))
    emit_page(page, as_json=as_json, columns=_GROUP_COLUMNS)


@group_app.command("show")
def group_show(group_id: int, as_json: bool = JsonOption) -> None:
    """Show a driver group."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.get_driver_group(db=db, operator_id=operator_id, group_id=group_id)

    emit_read(DriverGroupRead.model_validate(run_command(work)), as_json=as_json)


@group_app.command("update")
def group_update(
    group_id: int,
    name: Annotated[str | None, typer.Option()] = None,
    tariff: TariffOption = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Rename a driver group or change its tariff (--clear tariff)."""
    changes = partial_changes(
        {"name": name, "tariff_id": tariff}, clear=clear, clearable={"tariff": "tariff_id"}
    )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.update_driver_group(
            db=db, operator_id=operator_id, group_id=group_id, now=context.clock.now(), **changes
        )

    emit_read(DriverGroupRead.model_validate(run_command(work)), as_json=as_json)


# ---------------------------------------------------------------------------------------------
# Drivers


@driver_app.command("add")
def driver_add(
    name: Annotated[str, typer.Option()],
    email: EmailOption = None,
    tariff: Annotated[
        int | None, typer.Option("--tariff", help="Tariff id overriding all others.")
    ] = None,
    group: GroupOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Create a driver."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.create_driver(
            db=db,
            operator_id=operator_id,
            name=name,
            email=email,
            tariff_id=tariff,
            group_id=group,
            now=context.clock.now(),
        )

    emit_read(DriverRead.model_validate(run_command(work)), as_json=as_json)


@driver_app.command("list")
def driver_list(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List drivers."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.list_drivers(
            db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
        )

    emit_page(
        DriverList.model_validate(run_command(work)), as_json=as_json, columns=_DRIVER_COLUMNS
    )


@driver_app.command("show")
def driver_show(driver_id: int, as_json: bool = JsonOption) -> None:
    """Show a driver."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.get_driver(db=db, operator_id=operator_id, driver_id=driver_id)

    emit_read(DriverRead.model_validate(run_command(work)), as_json=as_json)


@driver_app.command("update")
def driver_update(
    driver_id: int,
    name: Annotated[str | None, typer.Option()] = None,
    email: EmailOption = None,
    tariff: TariffOption = None,
    group: GroupOption = None,
    pays_by: Annotated[
        PaymentPreference | None,
        typer.Option("--pays-by", help="How the driver's sessions are paid."),
    ] = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Change a driver (--clear email|tariff|group|pays-by)."""
    changes = partial_changes(
        {
            "name": name,
            "email": email,
            "tariff_id": tariff,
            "group_id": group,
            "payment_preference": pays_by.value if pays_by is not None else None,
        },
        clear=clear,
        clearable={
            "email": "email",
            "tariff": "tariff_id",
            "group": "group_id",
            "pays-by": "payment_preference",
        },
    )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.update_driver(
            db=db, operator_id=operator_id, driver_id=driver_id, now=context.clock.now(), **changes
        )

    emit_read(DriverRead.model_validate(run_command(work)), as_json=as_json)


# ---------------------------------------------------------------------------------------------
# Tokens


@token_app.command("add")
def token_add(
    uid: Annotated[
        str, typer.Option(parser=parsed_as(IdTag), help="idTag / RFID UID (stored upper-case).")
    ],
    driver: Annotated[int | None, typer.Option(help="Driver id.")] = None,
    type: Annotated[TokenType, typer.Option("--type")] = TokenType.RFID,
    status: Annotated[TokenStatus, typer.Option()] = TokenStatus.ACTIVE,
    expires: ExpiresOption = None,
    parent_id_tag: ParentIdTagOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Register a token."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.create_token(
            db=db,
            operator_id=operator_id,
            uid=uid,
            driver_id=driver,
            type=type,
            status=status,
            expires_at=expires,
            parent_id_tag=parent_id_tag,
            now=context.clock.now(),
        )

    emit_read(TokenRead.model_validate(run_command(work)), as_json=as_json)


@token_app.command("list")
def token_list(
    driver: Annotated[int | None, typer.Option(help="Only this driver's tokens.")] = None,
    status: Annotated[TokenStatus | None, typer.Option()] = None,
    uid: Annotated[str | None, typer.Option(help="Exact idTag, any case.")] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    as_json: bool = JsonOption,
) -> None:
    """List tokens."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.list_tokens(
            db=db,
            operator_id=operator_id,
            driver_id=driver,
            status=status,
            uid=uid,
            page=PageRequest(limit=limit, offset=offset),
        )

    emit_page(TokenList.model_validate(run_command(work)), as_json=as_json, columns=_TOKEN_COLUMNS)


@token_app.command("show")
def token_show(token_id: int, as_json: bool = JsonOption) -> None:
    """Show a token."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.get_token(db=db, operator_id=operator_id, token_id=token_id)

    emit_read(TokenRead.model_validate(run_command(work)), as_json=as_json)


@token_app.command("update")
def token_update(
    token_id: int,
    uid: Annotated[str | None, typer.Option(parser=parsed_as(IdTag))] = None,
    type: Annotated[TokenType | None, typer.Option("--type")] = None,
    status: Annotated[TokenStatus | None, typer.Option()] = None,
    driver: Annotated[int | None, typer.Option(help="Driver id.")] = None,
    expires: ExpiresOption = None,
    parent_id_tag: ParentIdTagOption = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Change a token, e.g. --status blocked (--clear driver|expires|parent-id-tag)."""
    changes = partial_changes(
        {
            "uid": uid,
            "type": type,
            "status": status,
            "driver_id": driver,
            "expires_at": expires,
            "parent_id_tag": parent_id_tag,
        },
        clear=clear,
        clearable={
            "driver": "driver_id",
            "expires": "expires_at",
            "parent-id-tag": "parent_id_tag",
        },
    )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await drivers.update_token(
            db=db, operator_id=operator_id, token_id=token_id, now=context.clock.now(), **changes
        )

    emit_read(TokenRead.model_validate(run_command(work)), as_json=as_json)
