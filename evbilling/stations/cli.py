"""`evbilling station|evse ...`: stations and their EVSEs from the command line.

Stations are addressed by id or by identity (CP-1); EVSEs by id. Each command is one service
call in one committed transaction for the installation's operator; `--clear FIELD` empties an
optional field on update; `--json` prints machine output. The charging slice adds the
commands that talk to a connected station to `station_app`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.cli import (
    ClearOption,
    JsonOption,
    LimitOption,
    OffsetOption,
    details,
    emit_page,
    emit_read,
    parsed_as,
    partial_changes,
    run_command,
    table,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.repository import PageRequest
from evbilling.models import Evse
from evbilling.stations import evse_service as evses
from evbilling.stations import service as stations
from evbilling.stations.domain import (
    DEFAULT_MAX_POWER_W,
    MAX_CONNECTORS,
    MIN_CONNECTORS,
    ConnectorStandard,
    EvseUid,
    PowerType,
    StationIdentity,
)
from evbilling.stations.schemas import (
    EvseList,
    EvseRead,
    StationList,
    StationPasswordRead,
    StationRead,
    StationRegistered,
)
from evbilling.tariffs.cli import TariffOption

station_app = typer.Typer(help="Charging stations: registration, passwords.", no_args_is_help=True)
evse_app = typer.Typer(help="EVSEs (one connector each) of a station.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(station_app, name="station")
    root.add_typer(evse_app, name="evse")


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
_EVSE_COLUMNS = ["id", "connector_id", "uid", "max_power_w", "power_type", "tariff_id", "status"]
_EVSE_CLEARABLE = {
    "uid": "uid",
    "connector-standard": "connector_standard",
    "power-type": "power_type",
    "tariff": "tariff_id",
}
_PRICING_DISPLAY = "Show prices and costs on the station's display (OCA California pricing)."
StationArgument = Annotated[str, typer.Argument(help="Station id or identity.")]
StationOption = Annotated[str, typer.Option("--station", help="Station id or identity.")]
UidOption = Annotated[
    str | None, typer.Option(parser=parsed_as(EvseUid), help="EVSE ID, e.g. DE*ABC*E1234.")
]


def _station_text(station: dict[str, Any]) -> str:
    evse_table = table(station["evses"], columns=_EVSE_COLUMNS)
    return f"{details(station, skip=('evses',))}\n\nEVSEs\n{evse_table}"


def _created_station_text(created: dict[str, Any]) -> str:
    station = created["station"]
    return (
        f"station {station['identity']} registered (id {station['id']}) "
        f"with {len(station['evses'])} EVSE(s)\n"
        f"password (shown once; configure it in the station): {created['password']}"
    )


def _password_text(rotated: dict[str, Any]) -> str:
    return (
        f"new password for station {rotated['identity']} (id {rotated['station_id']}), "
        f"shown once: {rotated['password']}"
    )


def _emit_station(station: stations.StationState, *, as_json: bool) -> None:
    emit_read(StationRead.model_validate(station), as_json=as_json, text=_station_text)


def _emit_evse(evse: Evse, *, as_json: bool) -> None:
    emit_read(EvseRead.model_validate(evse), as_json=as_json)


@station_app.command("add")
def station_add(
    identity: Annotated[
        str,
        typer.Option(
            parser=parsed_as(StationIdentity),
            help="OCPP charge point id (the URL's last segment).",
        ),
    ],
    location: Annotated[int, typer.Option(help="Location id.")],
    connectors: Annotated[
        int,
        typer.Option(min=MIN_CONNECTORS, max=MAX_CONNECTORS, help="EVSEs 1..n."),
    ] = 1,
    max_power_w: Annotated[int, typer.Option(help="Per EVSE.")] = DEFAULT_MAX_POWER_W,
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

    async def work(
        db: AsyncSession, context: ServiceContext, operator_id: int
    ) -> stations.CreatedStation:
        return await stations.create_station(
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

    created = StationRegistered.model_validate(run_command(work))
    emit_read(created, as_json=as_json, text=_created_station_text)


@station_app.command("list")
def station_list(
    location: Annotated[int | None, typer.Option(help="Only this location's stations.")] = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    as_json: bool = JsonOption,
) -> None:
    """List stations."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await stations.list_stations(
            db=db,
            operator_id=operator_id,
            commands=context.commands,
            location_id=location,
            page=PageRequest(limit=limit, offset=offset),
        )

    emit_page(
        StationList.model_validate(run_command(work)), as_json=as_json, columns=_STATION_COLUMNS
    )


@station_app.command("show")
def station_show(station: StationArgument, as_json: bool = JsonOption) -> None:
    """Show a station with its EVSEs."""

    async def work(
        db: AsyncSession, context: ServiceContext, operator_id: int
    ) -> stations.StationState:
        return await stations.get_station(
            db=db, operator_id=operator_id, station=station, commands=context.commands
        )

    _emit_station(run_command(work), as_json=as_json)


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
    changes = partial_changes(
        {"location_id": location, "tariff_id": tariff, "pricing_display": pricing_display},
        clear=clear,
        clearable={"tariff": "tariff_id"},
    )

    async def work(
        db: AsyncSession, context: ServiceContext, operator_id: int
    ) -> stations.StationState:
        return await stations.update_station(
            db=db,
            operator_id=operator_id,
            station=station,
            now=context.clock.now(),
            commands=context.commands,
            **changes,
        )

    _emit_station(run_command(work), as_json=as_json)


@station_app.command("set-password")
def station_set_password(
    station: StationArgument,
    password: Annotated[
        str | None, typer.Option(help="16..40 characters; generated when left out.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Set a station's password without asking it (new or factory-reset station); prints
    the new one once. A connected station: `station rotate-password`."""

    async def work(
        db: AsyncSession, context: ServiceContext, operator_id: int
    ) -> stations.StationPassword:
        return await stations.set_station_password(
            db=db,
            operator_id=operator_id,
            station=station,
            password=password,
            now=context.clock.now(),
        )

    rotated = StationPasswordRead.model_validate(run_command(work))
    emit_read(rotated, as_json=as_json, text=_password_text)


@evse_app.command("add")
def evse_add(
    station: StationOption,
    connector: Annotated[
        int | None, typer.Option(help="OCPP connectorId; the next free one when left out.")
    ] = None,
    max_power_w: Annotated[int, typer.Option()] = DEFAULT_MAX_POWER_W,
    uid: UidOption = None,
    connector_standard: Annotated[ConnectorStandard | None, typer.Option()] = None,
    power_type: Annotated[PowerType | None, typer.Option()] = None,
    tariff: TariffOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Add an EVSE to a station."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Evse:
        return await evses.create_evse(
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

    _emit_evse(run_command(work), as_json=as_json)


@evse_app.command("list")
def evse_list(
    station: StationOption,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    as_json: bool = JsonOption,
) -> None:
    """List a station's EVSEs."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await evses.list_evses(
            db=db,
            operator_id=operator_id,
            station=station,
            page=PageRequest(limit=limit, offset=offset),
        )

    emit_page(EvseList.model_validate(run_command(work)), as_json=as_json, columns=_EVSE_COLUMNS)


@evse_app.command("show")
def evse_show(evse_id: int, as_json: bool = JsonOption) -> None:
    """Show an EVSE with its latest status."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Evse:
        return await evses.get_evse(db=db, operator_id=operator_id, evse_id=evse_id)

    _emit_evse(run_command(work), as_json=as_json)


@evse_app.command("update")
def evse_update(
    evse_id: int,
    max_power_w: Annotated[int | None, typer.Option()] = None,
    uid: UidOption = None,
    connector_standard: Annotated[ConnectorStandard | None, typer.Option()] = None,
    power_type: Annotated[PowerType | None, typer.Option()] = None,
    tariff: TariffOption = None,
    clear: ClearOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Change an EVSE (--clear uid|connector-standard|power-type|tariff)."""
    changes = partial_changes(
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

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Evse:
        return await evses.update_evse(
            db=db, operator_id=operator_id, evse_id=evse_id, now=context.clock.now(), **changes
        )

    _emit_evse(run_command(work), as_json=as_json)
