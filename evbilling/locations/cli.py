"""`evbilling location ...`: locations from the command line. Each command is one service
call in one committed transaction for the installation's operator; `--clear FIELD` empties an
optional field on update; `--json` prints machine output."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

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
from evbilling.locations import service as locations
from evbilling.locations.domain import CountryCode, TimeZone
from evbilling.locations.schemas import LocationList, LocationRead
from evbilling.models import Location
from evbilling.tariffs.cli import TariffOption

app = typer.Typer(help="Locations (sites) and their time zones.", no_args_is_help=True)

_COLUMNS = ["id", "name", "city", "country", "time_zone", "tariff_id"]
_CLEARABLE = {
    "address": "address",
    "city": "city",
    "postal-code": "postal_code",
    "country": "country",
    "tariff": "tariff_id",
}
TimeZoneParser = typer.Option(
    parser=parsed_as(TimeZone), help="IANA time zone, e.g. Europe/Berlin."
)
CountryParser = typer.Option(parser=parsed_as(CountryCode), help="ISO 3166-1 alpha-3, e.g. DEU.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="location")


def _emit(location: Location, *, as_json: bool) -> None:
    emit_read(LocationRead.model_validate(location), as_json=as_json)


@app.command("add")
def location_add(
    name: Annotated[str, typer.Option()],
    time_zone: Annotated[str, TimeZoneParser],
    country: Annotated[str | None, CountryParser] = None,
    address: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    tariff: TariffOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Create a location."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Location:
        return await locations.create_location(
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

    _emit(run_command(work), as_json=as_json)


@app.command("list")
def location_list(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List locations."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await locations.list_locations(
            db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
        )

    emit_page(LocationList.model_validate(run_command(work)), as_json=as_json, columns=_COLUMNS)


@app.command("show")
def location_show(location_id: int, as_json: bool = JsonOption) -> None:
    """Show a location."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Location:
        return await locations.get_location(db=db, operator_id=operator_id, location_id=location_id)

    _emit(run_command(work), as_json=as_json)


@app.command("update")
def location_update(
    location_id: int,
    name: Annotated[str | None, typer.Option()] = None,
    time_zone: Annotated[str | None, TimeZoneParser] = None,
    country: Annotated[str | None, CountryParser] = None,
    address: Annotated[str | None, typer.Option()] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option()] = None,
    tariff: TariffOption = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Change a location (--clear address|city|postal-code|country|tariff)."""
    changes = partial_changes(
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
        clearable=_CLEARABLE,
    )

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Location:
        return await locations.update_location(
            db=db,
            operator_id=operator_id,
            location_id=location_id,
            now=context.clock.now(),
            **changes,
        )

    _emit(run_command(work), as_json=as_json)
