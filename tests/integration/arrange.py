"""Arrange steps of the slices' service tests: objects made through the services themselves,
each in its own committed unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from evbilling.access.repository import OperatorRepository
from evbilling.drivers import service as drivers
from evbilling.infra.context import ServiceContext
from evbilling.infra.station_link import UnconnectedStations
from evbilling.locations import service as locations
from evbilling.models import Tariff, TariffVersion
from evbilling.stations import service as stations
from evbilling.tariffs import service as tariffs
from evbilling.tariffs.domain import loads_ocpi
from tests.fixtures import OCPI_EXAMPLES

OFFLINE = UnconnectedStations()
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXAMPLES = OCPI_EXAMPLES


class ConnectedStations(UnconnectedStations):
    """A command port that reports the given identities as connected."""

    def __init__(self, *identities: str) -> None:
        self._identities = set(identities)

    def is_connected(self, station_identity: str) -> bool:
        return station_identity in self._identities


async def add_operator(context: ServiceContext, *, name: str = "Other operator") -> int:
    async with context.unit_of_work() as db:
        operator = await OperatorRepository(db).create(name=name, now=context.clock.now())
        await db.commit()
        return operator.id


def simple(price: str = "0.35") -> dict[str, Any]:
    return tariffs.simple_tariff_ocpi(
        currency="EUR",
        energy_price_per_kwh=Decimal(price),
        session_fee=Decimal("1.00"),
        vat_percent=Decimal(19),
    )


def example(name: str) -> dict[str, Any]:
    """An OCPI 2.2.1 example tariff (tests/fixtures)."""
    data: dict[str, Any] = loads_ocpi((EXAMPLES / name).read_bytes())
    return data


async def add_tariff(
    context: ServiceContext,
    operator_id: int,
    *,
    name: str = "Standard",
    price: str = "0.35",
    is_default: bool = False,
    ocpi: dict[str, Any] | None = None,
) -> int:
    async with context.unit_of_work() as db:
        tariff = await tariffs.create_tariff(
            db=db,
            operator_id=operator_id,
            name=name,
            ocpi=ocpi if ocpi is not None else simple(price),
            is_default=is_default,
            now=context.clock.now(),
        )
        await db.commit()
        return tariff.id


async def add_group(
    context: ServiceContext, operator_id: int, *, tariff_id: int | None = None
) -> int:
    async with context.unit_of_work() as db:
        group = await drivers.create_driver_group(
            db=db,
            operator_id=operator_id,
            name="Fleet",
            tariff_id=tariff_id,
            now=context.clock.now(),
        )
        await db.commit()
        return group.id


async def add_location(
    context: ServiceContext, operator_id: int, *, tariff_id: int | None = None
) -> int:
    async with context.unit_of_work() as db:
        location = await locations.create_location(
            db=db,
            operator_id=operator_id,
            name="Depot",
            time_zone="Europe/Berlin",
            country="DEU",
            tariff_id=tariff_id,
            now=context.clock.now(),
        )
        await db.commit()
        return location.id


async def add_station(
    context: ServiceContext,
    operator_id: int,
    *,
    identity: str = "CP-1",
    location_id: int | None = None,
    connectors: int = 1,
    tariff_id: int | None = None,
    password: str | None = None,
) -> stations.CreatedStation:
    if location_id is None:
        location_id = await add_location(context, operator_id)
    async with context.unit_of_work() as db:
        created = await stations.create_station(
            db=db,
            operator_id=operator_id,
            identity=identity,
            location_id=location_id,
            connectors=connectors,
            tariff_id=tariff_id,
            password=password,
            now=context.clock.now(),
            commands=OFFLINE,
        )
        await db.commit()
        return created


async def add_driver(
    context: ServiceContext,
    operator_id: int,
    *,
    tariff_id: int | None = None,
    group_id: int | None = None,
) -> int:
    async with context.unit_of_work() as db:
        driver = await drivers.create_driver(
            db=db,
            operator_id=operator_id,
            name="Ada",
            email="ada@example.com",
            tariff_id=tariff_id,
            group_id=group_id,
            now=context.clock.now(),
        )
        await db.commit()
        return driver.id


def ocpi_of(row: Tariff | TariffVersion) -> dict[str, Any]:
    """A stored tariff document as JSON data, numbers as Decimal."""
    data: dict[str, Any] = loads_ocpi(row.ocpi_json)
    return data
