"""`evbilling location|station|evse|driver|group|token|tariff ...`: the catalog from the command
line.

Each command runs one service call in one committed transaction (run_in_unit_of_work) for the
installation's operator. Stations are addressed by id or by identity (CP-1); everything else
by id. `--clear FIELD` empties an optional field on update; `--json` prints machine output.
Tariffs are OCPI 2.2.1 documents: `tariff import`/`export` read and write them with exact
numbers, so an export imports back unchanged.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.catalog import service as catalog
from evbilling.catalog.service import (
    ConnectorStandard,
    CreatedStation,
    EvseView,
    PowerType,
    StationPassword,
    StationView,
    TariffVersionView,
    TariffView,
)
from evbilling.charging.domain import TokenStatus, TokenType
from evbilling.infra.cli import JsonOption, emit, run_in_unit_of_work, table, to_jsonable
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.pagination import Page, PageRequest
from evbilling.kit.clock import InvalidTimestamp, parse_utc_timestamp
from evbilling.kit.errors import InvalidRequest
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi

T = TypeVar("T")

location_app = typer.Typer(help="Locations (sites) and their time zones.", no_args_is_help=True)
station_app = typer.Typer(help="Charging stations: registration, passwords.", no_args_is_help=True)
evse_app = typer.Typer(help="EVSEs (one connector each) of a station.", no_args_is_help=True)
driver_app = typer.Typer(help="Drivers.", no_args_is_help=True)
group_app = typer.Typer(help="Driver groups (fleets) and their tariffs.", no_args_is_help=True)
token_app = typer.Typer(help="Tokens (OCPP idTags, RFID cards).", no_args_is_help=True)
tariff_app = typer.Typer(
    help="OCPI 2.2.1 tariffs (versioned; the default prices the rest).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(location_app, name="location")
    app.add_typer(station_app, name="station")
    app.add_typer(evse_app, name="evse")
    app.add_typer(driver_app, name="driver")
    app.add_typer(group_app, name="group")
    app.add_typer(token_app, name="token")
    app.add_typer(tariff_app, name="tariff")


# ---------------------------------------------------------------------------------------------
# Parsing and printing


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


def _timestamp(text: str) -> datetime:
    try:
        return parse_utc_timestamp(text, assume_utc_when_naive=False)
    except InvalidTimestamp as exc:
        raise typer.BadParameter(f"{exc} (e.g. 2027-01-01T00:00:00Z)") from exc


def _changes(
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


def _run(work: Callable[[AsyncSession, ServiceContext, int], Awaitable[T]]) -> T:
    """run_in_unit_of_work, with the rejected field named in the message: a terminal has no
    problem document to carry it."""

    async def named(db: AsyncSession, context: ServiceContext, operator_id: int) -> T:
        try:
            return await work(db, context, operator_id)
        except InvalidRequest as exc:
            if exc.field is None or exc.errors:  # several fields: the message names them
                raise
            raise InvalidRequest(f"{exc.field}: {exc}", field=exc.field) from exc

    return run_in_unit_of_work(named)


def _details(value: Any, *, skip: tuple[str, ...] = ()) -> str:
    data = to_jsonable(value)
    width = max(len(key) for key in data)
    return "\n".join(
        f"{key.ljust(width)}  {'' if item is None else item}"
        for key, item in data.items()
        if key not in skip
    )


def _page_text(page: Page[Any], *, columns: list[str]) -> str:
    rows = [asdict(item) for item in page.items]
    shown = f"{page.offset + 1}-{page.offset + len(rows)}" if rows else "none"
    return f"{table(rows, columns=columns)}\n({shown} of {page.total})"


_EVSE_COLUMNS = ["id", "connector_id", "uid", "max_power_w", "power_type", "tariff_id", "status"]


def _station_text(station: StationView) -> str:
    evses = table([asdict(evse) for evse in station.evses], columns=_EVSE_COLUMNS)
    return f"{_details(station, skip=('evses',))}\n\nEVSEs\n{evses}"


LimitOption = Annotated[int, typer.Option(min=1, max=catalog.MAX_PAGE_LIMIT, help="Page size.")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Rows to skip.")]
TariffOption = Annotated[int | None, typer.Option("--tariff", help="Tariff id.")]
ClearOption = Annotated[
    list[str] | None, typer.Option("--clear", help="Empty an optional field (repeatable).")
]
OptionalPrice = Annotated[Decimal | None, typer.Option(parser=_decimal)]


# ---------------------------------------------------------------------------------------------
# Tariffs: OCPI 2.2.1 documents, read and written with exact numbers.


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


def _read_ocpi(path: Path) -> Any:
    """An OCPI JSON file with every number as an exact Decimal."""
    try:
        return loads_ocpi(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{path}: not a readable JSON file ({exc})") from exc


def _tariff_data(view: TariffView | TariffVersionView) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(view)
    data.pop("ocpi_json")
    data["ocpi"] = view.ocpi
    return data


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


def _emit_tariff(view: TariffView, *, as_json: bool) -> None:
    _emit_exact(_tariff_data(view), as_json=as_json, text=_tariff_text)


@tariff_app.command("add")
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
            catalog.simple_tariff_ocpi,
            currency=currency,
            energy_price_per_kwh=energy_price,
            session_fee=session_fee if session_fee is not None else Decimal(0),
            vat_percent=vat if vat is not None else Decimal(0),
            time_price_per_hour=time_price,
            parking_price_per_hour=parking_price,
        )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> TariffView:
        return await catalog.create_tariff(
            db=db,
            operator_id=operator_id,
            name=name,
            ocpi=make_document(),
            is_default=default,
            now=context.clock.now(),
        )

    _emit_tariff(_run(work), as_json=as_json)


@tariff_app.command("import")
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

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> TariffView:
        if update is None:
            return await catalog.create_tariff(
                db=db,
                operator_id=operator_id,
                name=name if name is not None else file.stem,
                ocpi=document,
                is_default=bool(default),
                now=context.clock.now(),
            )
        changes = _changes({"name": name, "is_default": default}, clear=None, clearable={})
        return await catalog.update_tariff(
            db=db,
            operator_id=operator_id,
            tariff_id=update,
            ocpi=document,
            now=context.clock.now(),
            **changes,
        )

    _emit_tariff(_run(work), as_json=as_json)


@tariff_app.command("export")
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
            tariff = await catalog.get_tariff(db=db, operator_id=operator_id, tariff_id=tariff_id)
            return tariff.ocpi_json
        found = await catalog.get_tariff_version(
            db=db, operator_id=operator_id, tariff_id=tariff_id, version=version
        )
        return found.ocpi_json

    text = dumps_ocpi(loads_ocpi(_run(work)), indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


@tariff_app.command("list")
def tariff_list(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List tariffs."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.list_tariffs(
            db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
        )

    page = _run(work)
    if as_json:
        data = {
            "items": [_tariff_data(item) for item in page.items],
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
        }
        _emit_exact(data, as_json=True, text=str)
    else:
        sys.stdout.write(_page_text(page, columns=_TARIFF_COLUMNS) + "\n")


@tariff_app.command("show")
def tariff_show(tariff_id: int, as_json: bool = JsonOption) -> None:
    """Show a tariff with its current OCPI document."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> TariffView:
        return await catalog.get_tariff(db=db, operator_id=operator_id, tariff_id=tariff_id)

    _emit_tariff(_run(work), as_json=as_json)


@tariff_app.command("versions")
def tariff_versions(tariff_id: int, as_json: bool = JsonOption) -> None:
    """List every version of a tariff (export one with `tariff export ID --version V`)."""

    async def work(
        db: AsyncSession, context: ServiceContext, operator_id: int
    ) -> list[TariffVersionView]:
        return await catalog.list_tariff_versions(
            db=db, operator_id=operator_id, tariff_id=tariff_id
        )

    versions = _run(work)
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


@tariff_app.command("update")
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
    changes = _changes({"name": name, "is_default": default}, clear=None, clearable={})
    if ocpi is not None:
        changes["ocpi"] = _read_ocpi(ocpi)

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> TariffView:
        return await catalog.update_tariff(
            db=db, operator_id=operator_id, tariff_id=tariff_id, now=context.clock.now(), **changes
        )

    _emit_tariff(_run(work), as_json=as_json)


# ---------------------------------------------------------------------------------------------
# Driver groups (fleets)


_GROUP_COLUMNS = ["id", "name", "tariff_id"]


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
        return await catalog.create_driver_group(
            db=db, operator_id=operator_id, name=name, tariff_id=tariff, now=context.clock.now()
        )

    emit(_run(work), as_json=as_json, text=_details)


@group_app.command("list")
def group_list(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List driver groups."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.list_driver_groups(
            db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
        )

    emit(
        _run(work),
        as_json=as_json,
        text=lambda page: _page_text(page, columns=_GROUP_COLUMNS),
    )


@group_app.command("show")
def group_show(group_id: int, as_json: bool = JsonOption) -> None:
    """Show a driver group."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.get_driver_group(db=db, operator_id=operator_id, group_id=group_id)

    emit(_run(work), as_json=as_json, text=_details)


@group_app.command("update")
def group_update(
    group_id: int,
    name: Annotated[str | None, typer.Option()] = None,
    tariff: TariffOption = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Rename a driver group or change its tariff (--clear tariff)."""
    changes = _changes(
        {"name": name, "tariff_id": tariff}, clear=clear, clearable={"tariff": "tariff_id"}
    )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.update_driver_group(
            db=db, operator_id=operator_id, group_id=group_id, now=context.clock.now(), **changes
        )

    emit(_run(work), as_json=as_json, text=_details)


# ---------------------------------------------------------------------------------------------
# Locations


_LOCATION_COLUMNS = ["id", "name", "city", "country", "time_zone", "tariff_id"]
_LOCATION_CLEARABLE = {
    "address": "address",
    "city": "city",
    "postal-code": "postal_code",
    "country": "country",
    "tariff": "tariff_id",
}


@location_app.command("add")
def location_add(
    name: Annotated[str, typer.Option()],
    time_zone: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Berlin.")],
    country: Annotated[str | None, typer.Option(help="ISO 3166-1 alpha-3, e.g. DEU.")] = None,
    address: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    tariff: TariffOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Create a location."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.create_location(
            db=db,
            operator_id=operator_id,
            name=name,
            time_zone=time_zone,
            country=country,
            address=address,
            city=city,
            postal_code=postal_code,
            tariff_id=tariff,
            now=context.clock.now(),
        )

    emit(_run(work), as_json=as_json, text=_details)


@location_app.command("list")
def location_list(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List locations."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.list_locations(
            db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
        )

    emit(
        _run(work),
        as_json=as_json,
        text=lambda page: _page_text(page, columns=_LOCATION_COLUMNS),
    )


@location_app.command("show")
def location_show(location_id: int, as_json: bool = JsonOption) -> None:
    """Show a location."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.get_location(db=db, operator_id=operator_id, location_id=location_id)

    emit(_run(work), as_json=as_json, text=_details)


@location_app.command("update")
def location_update(
    location_id: int,
    name: Annotated[str | None, typer.Option()] = None,
    time_zone: Annotated[str | None, typer.Option()] = None,
    country: Annotated[str | None, typer.Option()] = None,
    address: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    tariff: TariffOption = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Change a location (--clear address|city|postal-code|country|tariff)."""
    changes = _changes(
        {
            "name": name,
            "time_zone": time_zone,
            "country": country,
            "address": address,
            "city": city,
            "postal_code": postal_code,
            "tariff_id": tariff,
        },
        clear=clear,
        clearable=_LOCATION_CLEARABLE,
    )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.update_location(
            db=db,
            operator_id=operator_id,
            location_id=location_id,
            now=context.clock.now(),
            **changes,
        )

    emit(_run(work), as_json=as_json, text=_details)


# ---------------------------------------------------------------------------------------------
# Stations


_STATION_COLUMNS = [
    "id",
    "identity",
    "location_id",
    "tariff_id",
    "vendor",
    "model",
    "registration_status",
    "last_heartbeat_at",
]
StationArgument = Annotated[str, typer.Argument(help="Station id or identity.")]


def _created_station_text(created: CreatedStation) -> str:
    station = created.station
    return (
        f"station {station.identity} registered (id {station.id}) "
        f"with {len(station.evses)} EVSE(s)\n"
        f"password (shown once; configure it in the station): {created.password}"
    )


def _password_text(rotated: StationPassword) -> str:
    return (
        f"new password for station {rotated.identity} (id {rotated.station_id}), "
        f"shown once: {rotated.password}"
    )


_PRICING_DISPLAY = "Show prices and costs on the station's display (OCA California pricing)."


@station_app.command("add")
def station_add(
    identity: Annotated[str, typer.Option(help="OCPP charge point id (the URL's last segment).")],
    location: Annotated[int, typer.Option(help="Location id.")],
    connectors: Annotated[
        int,
        typer.Option(min=catalog.MIN_CONNECTORS, max=catalog.MAX_CONNECTORS, help="EVSEs 1..n."),
    ] = 1,
    max_power_w: Annotated[int, typer.Option(help="Per EVSE.")] = catalog.DEFAULT_MAX_POWER_W,
    password: Annotated[
        str | None, typer.Option(help="16..40 characters; generated when left out.")
    ] = None,
    tariff: TariffOption = None,
    pricing_display: Annotated[
        bool, typer.Option("--pricing-display/--no-pricing-display", help=_PRICING_DISPLAY)
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Register a station and its EVSEs; prints its password once."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.create_station(
            db=db,
            operator_id=operator_id,
            identity=identity,
            location_id=location,
            connectors=connectors,
            max_power_w=max_power_w,
            password=password,
            tariff_id=tariff,
            pricing_display=pricing_display,
            now=context.clock.now(),
            commands=context.commands,
        )

    emit(_run(work), as_json=as_json, text=_created_station_text)


@station_app.command("list")
def station_list(
    location: Annotated[int | None, typer.Option(help="Only this location's stations.")] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    as_json: bool = JsonOption,
) -> None:
    """List stations."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.list_stations(
            db=db,
            operator_id=operator_id,
            commands=context.commands,
            location_id=location,
            page=PageRequest(limit=limit, offset=offset),
        )

    emit(
        _run(work),
        as_json=as_json,
        text=lambda page: _page_text(page, columns=_STATION_COLUMNS),
    )


@station_app.command("show")
def station_show(station: StationArgument, as_json: bool = JsonOption) -> None:
    """Show a station with its EVSEs."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.get_station(
            db=db, operator_id=operator_id, station=station, commands=context.commands
        )

    emit(_run(work), as_json=as_json, text=_station_text)


@station_app.command("update")
def station_update(
    station: StationArgument,
    location: Annotated[int | None, typer.Option(help="Move to this location.")] = None,
    tariff: TariffOption = None,
    pricing_display: Annotated[
        bool | None, typer.Option("--pricing-display/--no-pricing-display", help=_PRICING_DISPLAY)
    ] = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Move a station, change its tariff (--clear tariff) or its price display."""
    changes = _changes(
        {"location_id": location, "tariff_id": tariff, "pricing_display": pricing_display},
        clear=clear,
        clearable={"tariff": "tariff_id"},
    )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.update_station(
            db=db,
            operator_id=operator_id,
            station=station,
            now=context.clock.now(),
            commands=context.commands,
            **changes,
        )

    emit(_run(work), as_json=as_json, text=_station_text)


@station_app.command("set-password")
def station_set_password(
    station: StationArgument,
    password: Annotated[
        str | None, typer.Option(help="16..40 characters; generated when left out.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Replace a station's password; prints the new one once."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.rotate_station_password(
            db=db,
            operator_id=operator_id,
            station=station,
            password=password,
            now=context.clock.now(),
        )

    emit(_run(work), as_json=as_json, text=_password_text)


# ---------------------------------------------------------------------------------------------
# EVSEs


_EVSE_CLEARABLE = {
    "uid": "uid",
    "connector-standard": "connector_standard",
    "power-type": "power_type",
    "tariff": "tariff_id",
}
StationOption = Annotated[str, typer.Option("--station", help="Station id or identity.")]


def _evse_text(evse: EvseView) -> str:
    return _details(evse)


@evse_app.command("add")
def evse_add(
    station: StationOption,
    connector: Annotated[
        int | None, typer.Option(help="OCPP connectorId; the next free one when left out.")
    ] = None,
    max_power_w: Annotated[int, typer.Option()] = catalog.DEFAULT_MAX_POWER_W,
    uid: Annotated[str | None, typer.Option(help="EVSE ID, e.g. DE*ABC*E1234.")] = None,
    connector_standard: Annotated[ConnectorStandard | None, typer.Option()] = None,
    power_type: Annotated[PowerType | None, typer.Option()] = None,
    tariff: TariffOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Add an EVSE to a station."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.create_evse(
            db=db,
            operator_id=operator_id,
            station=station,
            connector_id=connector,
            max_power_w=max_power_w,
            uid=uid,
            connector_standard=connector_standard,
            power_type=power_type,
            tariff_id=tariff,
            now=context.clock.now(),
        )

    emit(_run(work), as_json=as_json, text=_evse_text)


@evse_app.command("list")
def evse_list(
    station: StationOption,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    as_json: bool = JsonOption,
) -> None:
    """List a station's EVSEs."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.list_evses(
            db=db,
            operator_id=operator_id,
            station=station,
            page=PageRequest(limit=limit, offset=offset),
        )

    emit(
        _run(work),
        as_json=as_json,
        text=lambda page: _page_text(page, columns=_EVSE_COLUMNS),
    )


@evse_app.command("show")
def evse_show(evse_id: int, as_json: bool = JsonOption) -> None:
    """Show an EVSE with its latest status."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.get_evse(db=db, operator_id=operator_id, evse_id=evse_id)

    emit(_run(work), as_json=as_json, text=_evse_text)


@evse_app.command("update")
def evse_update(
    evse_id: int,
    max_power_w: Annotated[int | None, typer.Option()] = None,
    uid: Annotated[str | None, typer.Option(help="EVSE ID, e.g. DE*ABC*E1234.")] = None,
    connector_standard: Annotated[ConnectorStandard | None, typer.Option()] = None,
    power_type: Annotated[PowerType | None, typer.Option()] = None,
    tariff: TariffOption = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Change an EVSE (--clear uid|connector-standard|power-type|tariff)."""
    changes = _changes(
        {
            "max_power_w": max_power_w,
            "uid": uid,
            "connector_standard": connector_standard,
            "power_type": power_type,
            "tariff_id": tariff,
        },
        clear=clear,
        clearable=_EVSE_CLEARABLE,
    )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.update_evse(
            db=db, operator_id=operator_id, evse_id=evse_id, now=context.clock.now(), **changes
        )

    emit(_run(work), as_json=as_json, text=_evse_text)


# ---------------------------------------------------------------------------------------------
# Drivers


_DRIVER_COLUMNS = ["id", "name", "email", "tariff_id", "group_id"]
GroupOption = Annotated[int | None, typer.Option("--group", help="Driver group id.")]


@driver_app.command("add")
def driver_add(
    name: Annotated[str, typer.Option()],
    email: Annotated[str | None, typer.Option()] = None,
    tariff: Annotated[
        int | None, typer.Option("--tariff", help="Tariff id overriding all others.")
    ] = None,
    group: GroupOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Create a driver."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.create_driver(
            db=db,
            operator_id=operator_id,
            name=name,
            email=email,
            tariff_id=tariff,
            group_id=group,
            now=context.clock.now(),
        )

    emit(_run(work), as_json=as_json, text=_details)


@driver_app.command("list")
def driver_list(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List drivers."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.list_drivers(
            db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
        )

    emit(
        _run(work),
        as_json=as_json,
        text=lambda page: _page_text(page, columns=_DRIVER_COLUMNS),
    )


@driver_app.command("show")
def driver_show(driver_id: int, as_json: bool = JsonOption) -> None:
    """Show a driver."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.get_driver(db=db, operator_id=operator_id, driver_id=driver_id)

    emit(_run(work), as_json=as_json, text=_details)


@driver_app.command("update")
def driver_update(
    driver_id: int,
    name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    tariff: TariffOption = None,
    group: GroupOption = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Change a driver (--clear email|tariff|group)."""
    changes = _changes(
        {"name": name, "email": email, "tariff_id": tariff, "group_id": group},
        clear=clear,
        clearable={"email": "email", "tariff": "tariff_id", "group": "group_id"},
    )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.update_driver(
            db=db, operator_id=operator_id, driver_id=driver_id, now=context.clock.now(), **changes
        )

    emit(_run(work), as_json=as_json, text=_details)


# ---------------------------------------------------------------------------------------------
# Tokens


_TOKEN_COLUMNS = ["id", "uid", "type", "status", "driver_id", "expires_at"]
ExpiresOption = Annotated[
    datetime | None,
    typer.Option(
        "--expires", parser=_timestamp, help="RFC 3339 with zone, e.g. 2027-01-01T00:00:00Z."
    ),
]


@token_app.command("add")
def token_add(
    uid: Annotated[str, typer.Option(help="idTag / RFID UID (stored upper-case).")],
    driver: Annotated[int | None, typer.Option(help="Driver id.")] = None,
    type: Annotated[TokenType, typer.Option("--type")] = TokenType.RFID,
    status: Annotated[TokenStatus, typer.Option()] = TokenStatus.ACTIVE,
    expires: ExpiresOption = None,
    parent_id_tag: Annotated[str | None, typer.Option()] = None,
    as_json: bool = JsonOption,
) -> None:
    """Register a token."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.create_token(
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

    emit(_run(work), as_json=as_json, text=_details)


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
        return await catalog.list_tokens(
            db=db,
            operator_id=operator_id,
            driver_id=driver,
            status=status,
            uid=uid,
            page=PageRequest(limit=limit, offset=offset),
        )

    emit(
        _run(work),
        as_json=as_json,
        text=lambda page: _page_text(page, columns=_TOKEN_COLUMNS),
    )


@token_app.command("show")
def token_show(token_id: int, as_json: bool = JsonOption) -> None:
    """Show a token."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await catalog.get_token(db=db, operator_id=operator_id, token_id=token_id)

    emit(_run(work), as_json=as_json, text=_details)


@token_app.command("update")
def token_update(
    token_id: int,
    uid: Annotated[str | None, typer.Option()] = None,
    type: Annotated[TokenType | None, typer.Option("--type")] = None,
    status: Annotated[TokenStatus | None, typer.Option()] = None,
    driver: Annotated[int | None, typer.Option(help="Driver id.")] = None,
    expires: ExpiresOption = None,
    parent_id_tag: Annotated[str | None, typer.Option()] = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Change a token, e.g. --status blocked (--clear driver|expires|parent-id-tag)."""
    changes = _changes(
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
        return await catalog.update_token(
            db=db, operator_id=operator_id, token_id=token_id, now=context.clock.now(), **changes
        )

    emit(_run(work), as_json=as_json, text=_details)
