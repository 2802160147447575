"""`evbilling tariff ...`: OCPI 2.2.1 tariffs from the command line.

`tariff import`/`export` read and write OCPI documents with exact numbers, so an export
imports back unchanged. Each command is one service call in one committed transaction for the
installation's operator; `--json` prints machine output.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.cli import (
    JsonOption,
    LimitOption,
    OffsetOption,
    page_text,
    partial_changes,
    run_command,
    table,
    to_jsonable,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.repository import PageRequest
from evbilling.kit.errors import InvalidRequest
from evbilling.models import Tariff
from evbilling.tariffs import service as tariffs
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi
from evbilling.tariffs.schemas import TariffRead, TariffVersionRead

T = TypeVar("T")

app = typer.Typer(
    help="OCPI 2.2.1 tariffs (versioned; the default prices the rest).", no_args_is_help=True
)

# The option other slices' commands assign a tariff with.
TariffOption = Annotated[int | None, typer.Option("--tariff", help="Tariff id.")]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="tariff")


def _decimal(text: str | Decimal) -> Decimal:
    """Money from the command line stays exact: parsed as a decimal string, never a float."""
    if isinstance(text, Decimal):  # an option's default
        return text
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise typer.BadParameter(f"not a decimal number: {text!r}") from exc
    if not value.is_finite():
        raise typer.BadParameter(f"not a finite number: {text!r}")
    return value


OptionalPrice = Annotated[Decimal | None, typer.Option(parser=_decimal)]
_TARIFF_COLUMNS = ["id", "name", "ocpi_id", "currency", "is_default", "version", "updated_at"]
_VERSION_COLUMNS = ["version", "created_at", "elements"]
OcpiFileOption = Annotated[
    Path | None,
    typer.Option(
        "--ocpi",
        exists=True,
        dir_okay=False,
        help="An OCPI 2.2.1 Tariff JSON file (id, country_code, party_id may be left out).",
    ),
]


def _run_writing(work: Callable[[AsyncSession, ServiceContext, int], Awaitable[T]]) -> T:
    """run_command for a command that writes a tariff: a refused document, price or name is
    a usage error (exit 2) naming every field, and nothing is written."""

    async def checked(db: AsyncSession, context: ServiceContext, operator_id: int) -> T:
        try:
            return await work(db, context, operator_id)
        except InvalidRequest as exc:
            message = str(exc) if exc.errors or exc.field is None else f"{exc.field}: {exc}"
            typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=2) from exc

    return run_command(checked)


def _read_ocpi(path: Path) -> Any:
    """An OCPI JSON file with every number as an exact Decimal."""
    try:
        return loads_ocpi(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{path}: not a readable JSON file ({exc})") from exc


def _tariff_data(read: TariffRead | TariffVersionRead) -> dict[str, Any]:
    """The schema as printed: its fields like every command's, then the OCPI document with
    its exact numbers."""
    return {**to_jsonable(read.model_dump(exclude={"ocpi"})), "ocpi": read.ocpi}


def _emit_exact(data: Any, *, as_json: bool, text: Callable[[Any], str]) -> None:
    sys.stdout.write((dumps_ocpi(data, indent=2) if as_json else text(data)) + "\n")


def _tariff_text(data: dict[str, Any]) -> str:
    width = max(len(key) for key in data)
    fields = "\n".join(
        f"{key.ljust(width)}  {'' if value is None else value}"
        for key, value in data.items()
        if key != "ocpi"
    )
    return f"{fields}\n\nOCPI tariff\n{dumps_ocpi(data['ocpi'], indent=2)}"


def _emit_tariff(tariff: Tariff, *, as_json: bool) -> None:
    _emit_exact(_tariff_data(TariffRead.model_validate(tariff)), as_json=as_json, text=_tariff_text)


@app.command("add")
def tariff_add(
    name: Annotated[str, typer.Option(help="Display name.")],
    ocpi: OcpiFileOption = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code, e.g. EUR.")] = None,
    energy_price: OptionalPrice = None,
    session_fee: Annotated[
        Decimal | None, typer.Option(parser=_decimal, help="Fee per session.")
    ] = None,
    time_price: Annotated[
        Decimal | None, typer.Option(parser=_decimal, help="Price per hour charging.")
    ] = None,
    parking_price: Annotated[
        Decimal | None, typer.Option(parser=_decimal, help="Price per hour parked, not charging.")
    ] = None,
    vat: Annotated[
        Decimal | None, typer.Option(parser=_decimal, help="VAT percent, 0..100.")
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Make it the operator default.")
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Create a tariff from an OCPI file (--ocpi) or from simple prices (--currency,
    --energy-price, [--session-fee] [--time-price] [--parking-price] [--vat])."""
    simple = {
        "--currency": currency,
        "--energy-price": energy_price,
        "--session-fee": session_fee,
        "--time-price": time_price,
        "--parking-price": parking_price,
        "--vat": vat,
    }
    given = [flag for flag, value in simple.items() if value is not None]
    make_document: Callable[[], Any]
    if ocpi is not None:
        if given:
            raise typer.BadParameter(f"--ocpi excludes {', '.join(given)}", param_hint="--ocpi")
        document = _read_ocpi(ocpi)
        make_document = lambda: document  # noqa: E731
    elif currency is None or energy_price is None:
        raise typer.BadParameter(
            "give --ocpi FILE, or --currency and --energy-price", param_hint="--ocpi"
        )
    else:
        # Built inside the unit of work, so a rejected price is reported like any other.
        make_document = partial(
            tariffs.simple_tariff_ocpi,
            currency=currency,
            energy_price_per_kwh=energy_price,
            session_fee=session_fee if session_fee is not None else Decimal(0),
            vat_percent=vat if vat is not None else Decimal(0),
            time_price_per_hour=time_price,
            parking_price_per_hour=parking_price,
        )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Tariff:
        return await tariffs.create_tariff(
            db=db,
            operator_id=operator_id,
            name=name,
            ocpi=make_document(),
            is_default=default,
            now=context.clock.now(),
        )

    _emit_tariff(_run_writing(work), as_json=as_json)


@app.command("import")
def tariff_import(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="An OCPI 2.2.1 Tariff JSON file.")
    ],
    name: Annotated[
        str | None, typer.Option(help="Display name; default: the file name (new tariffs).")
    ] = None,
    update: Annotated[
        int | None, typer.Option("--update", help="Add the file as a new version of this tariff.")
    ] = None,
    default: Annotated[
        bool | None,
        typer.Option("--default/--no-default", help="Make / stop being the operator default."),
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Import an OCPI tariff file as a new tariff, or as a new version of one (--update ID)."""
    document = _read_ocpi(file)

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Tariff:
        if update is None:
            return await tariffs.create_tariff(
                db=db,
                operator_id=operator_id,
                name=name if name is not None else file.stem,
                ocpi=document,
                is_default=bool(default),
                now=context.clock.now(),
            )
        changes = partial_changes({"name": name, "is_default": default}, clear=None, clearable={})
        return await tariffs.update_tariff(
            db=db,
            operator_id=operator_id,
            tariff_id=update,
            ocpi=document,
            now=context.clock.now(),
            **changes,
        )

    _emit_tariff(_run_writing(work), as_json=as_json)


@app.command("export")
def tariff_export(
    tariff_id: int,
    version: Annotated[
        int | None, typer.Option(min=1, help="This version instead of the current one.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="Write to this file.")
    ] = None,
) -> None:
    """Print (or write) the tariff's OCPI document, exactly: `tariff import` reads it back."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> str:
        if version is None:
            tariff = await tariffs.get_tariff(db=db, operator_id=operator_id, tariff_id=tariff_id)
            return tariff.ocpi_json
        found = await tariffs.get_tariff_version(
            db=db, operator_id=operator_id, tariff_id=tariff_id, version=version
        )
        return found.ocpi_json

    text = dumps_ocpi(loads_ocpi(run_command(work)), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@app.command("list")
def tariff_list(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List tariffs."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await tariffs.list_tariffs(
            db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
        )

    page = run_command(work)
    items = [_tariff_data(TariffRead.model_validate(row)) for row in page.rows]
    if as_json:
        data = {"items": items, "total": page.total, "limit": page.limit, "offset": page.offset}
        _emit_exact(data, as_json=True, text=str)
        return
    listed = {"items": items, "total": page.total, "offset": page.offset}
    sys.stdout.write(page_text(listed, columns=_TARIFF_COLUMNS) + "\n")


@app.command("show")
def tariff_show(tariff_id: int, as_json: bool = JsonOption) -> None:
    """Show a tariff with its current OCPI document."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Tariff:
        return await tariffs.get_tariff(db=db, operator_id=operator_id, tariff_id=tariff_id)

    _emit_tariff(run_command(work), as_json=as_json)


@app.command("versions")
def tariff_versions(tariff_id: int, as_json: bool = JsonOption) -> None:
    """List every version of a tariff (export one with `tariff export ID --version V`)."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await tariffs.list_tariff_versions(
            db=db, operator_id=operator_id, tariff_id=tariff_id
        )

    versions = [TariffVersionRead.model_validate(row) for row in run_command(work)]
    if as_json:
        _emit_exact({"items": [_tariff_data(v) for v in versions]}, as_json=True, text=str)
        return
    rows = [
        {
            "version": v.version,
            "created_at": v.created_at,
            "elements": len(v.ocpi.get("elements", ())),
        }
        for v in versions
    ]
    sys.stdout.write(table(rows, columns=_VERSION_COLUMNS) + "\n")


@app.command("update")
def tariff_update(
    tariff_id: int,
    name: Annotated[str | None, typer.Option()] = None,
    ocpi: Annotated[
        Path | None,
        typer.Option(
            "--ocpi", exists=True, dir_okay=False, help="A new OCPI document: a new version."
        ),
    ] = None,
    default: Annotated[
        bool | None, typer.Option("--default/--no-default", help="Make / stop being the default.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Rename, (un)make default, or publish a new OCPI document (--ocpi) as a new version;
    started sessions keep theirs."""
    changes = partial_changes({"name": name, "is_default": default}, clear=None, clearable={})
    if ocpi is not None:
        changes["ocpi"] = _read_ocpi(ocpi)

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Tariff:
        return await tariffs.update_tariff(
            db=db, operator_id=operator_id, tariff_id=tariff_id, now=context.clock.now(), **changes
        )

    _emit_tariff(_run_writing(work), as_json=as_json)
