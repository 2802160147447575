"""Catalog use cases on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from evbilling.access.repository import OperatorRepository
from evbilling.catalog import service as catalog
from evbilling.catalog.service import StationView
from evbilling.charging.domain import TokenStatus, TokenType
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.pagination import PageRequest
from evbilling.infra.secrets import verify_secret
from evbilling.infra.station_link import UnconnectedStations
from evbilling.kit import FixedClock
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.models import Evse, Station, Tariff, Token
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi
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
        operator = await OperatorRepository(db).add(name=name, now=context.clock.now())
        await db.commit()
        return operator.id


def simple(price: str = "0.35") -> dict[str, Any]:
    return catalog.simple_tariff_ocpi(
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
        tariff = await catalog.create_tariff(
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
        group = await catalog.create_driver_group(
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
        location = await catalog.create_location(
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
) -> catalog.CreatedStation:
    if location_id is None:
        location_id = await add_location(context, operator_id)
    async with context.unit_of_work() as db:
        created = await catalog.create_station(
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
        driver = await catalog.create_driver(
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


class TestTariffService:
    async def test_stores_the_ocpi_document_exactly_as_version_1(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        document = loads_ocpi(
            '{"currency": "EUR", "type": "REGULAR", "elements": [{"price_components": ['
            '{"type": "ENERGY", "price": 0.123456789012345, "vat": 7.70, "step_size": 1}, '
            '{"type": "FLAT", "price": 1.00, "step_size": 1}]}]}'
        )

        # Act
        async with context.unit_of_work() as db:
            created = await catalog.create_tariff(
                db=db,
                operator_id=operator_id,
                name="Night",
                ocpi=document,
                now=context.clock.now(),
            )
            await db.commit()
        async with context.unit_of_work() as db:
            read = await catalog.get_tariff(db=db, operator_id=operator_id, tariff_id=created.id)
            versions = await catalog.list_tariff_versions(
                db=db, operator_id=operator_id, tariff_id=created.id
            )

        # Assert
        assert read == created
        assert (read.ocpi_id, read.currency, read.version) == (str(created.id), "EUR", 1)
        assert read.ocpi_json == (
            f'{{"country_code": "XX", "party_id": "EVB", "id": "{created.id}", '
            '"currency": "EUR", "type": "REGULAR", "elements": [{"price_components": ['
            '{"type": "ENERGY", "price": 0.123456789012345, "vat": 7.70, "step_size": 1}, '
            '{"type": "FLAT", "price": 1.00, "step_size": 1}]}], '
            '"last_updated": "2026-03-02T09:00:00Z"}'
        )
        assert [(v.version, v.ocpi_json) for v in versions] == [(1, read.ocpi_json)]

    async def test_keeps_the_given_ocpi_identity_and_last_updated(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        document = example("tariff_1_simple_2hour.json")

        # Act
        async with context.unit_of_work() as db:
            created = await catalog.create_tariff(
                db=db, operator_id=operator_id, name="T1", ocpi=document, now=context.clock.now()
            )
            await db.commit()

        # Assert
        assert created.ocpi_id == "12"
        assert created.ocpi == document
        assert created.ocpi_json == dumps_ocpi(document)

    async def test_rejects_a_second_tariff_with_the_same_ocpi_id(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        async with context.unit_of_work() as db:
            for operator in (operator_id, other_operator):
                await catalog.create_tariff(
                    db=db,
                    operator_id=operator,
                    name="T",
                    ocpi=example("tariff_1_simple_2hour.json"),
                    now=context.clock.now(),
                )
            await db.commit()

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(Conflict):
                await catalog.create_tariff(
                    db=db,
                    operator_id=operator_id,
                    name="Again",
                    ocpi=example("tariff_2_alt_text.json"),
                    now=context.clock.now(),
                )

    async def test_a_generated_ocpi_id_avoids_an_imported_one(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange: an imported tariff already uses "2" as its OCPI id.
        async with context.unit_of_work() as db:
            await catalog.create_tariff(
                db=db,
                operator_id=operator_id,
                name="Imported",
                ocpi={**example("tariff_1_simple_2hour.json"), "id": "2"},
                now=context.clock.now(),
            )
            await db.commit()

        # Act
        second = await add_tariff(context, operator_id)

        # Assert
        async with context.unit_of_work() as db:
            read = await catalog.get_tariff(db=db, operator_id=operator_id, tariff_id=second)
        assert read.ocpi_id not in ("2", "")
        assert read.ocpi["id"] == read.ocpi_id

    async def test_reports_every_ocpi_field_error_at_once(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        document = loads_ocpi(
            '{"currency": "euro", "elements": [{"price_components": ['
            '{"type": "ENERGY", "price": -1, "step_size": 0}]}], "colour": "red"}'
        )

        # Act
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await catalog.create_tariff(
                    db=db, operator_id=operator_id, name="Bad", ocpi=document, now=START
                )

        # Assert
        fields = [field for field, _ in raised.value.errors]
        assert set(fields) == {
            "ocpi.colour",
            "ocpi.currency",
            "ocpi.elements[0].price_components[0].price",
            "ocpi.elements[0].price_components[0].step_size",
        }
        assert raised.value.field == fields[0]

    async def test_refuses_floats_for_money(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        document = {
            "currency": "EUR",
            "elements": [{"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}]}],
        }

        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await catalog.create_tariff(
                    db=db, operator_id=operator_id, name="F", ocpi=document, now=START
                )

        assert raised.value.field == "ocpi.elements[0].price_components[0].price"

    async def test_a_new_document_makes_a_new_version(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id, price="0.35")
        clock.advance(seconds=60)

        # Act
        async with context.unit_of_work() as db:
            updated = await catalog.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=tariff_id,
                ocpi=simple(price="0.40"),
                now=clock.now(),
            )
            await db.commit()
        async with context.unit_of_work() as db:
            versions = await catalog.list_tariff_versions(
                db=db, operator_id=operator_id, tariff_id=tariff_id
            )
            first = await catalog.get_tariff_version(
                db=db, operator_id=operator_id, tariff_id=tariff_id, version=1
            )

        # Assert
        assert updated.version == 2
        assert updated.updated_at == clock.now()
        assert updated.created_at == clock.now() - timedelta(seconds=60)
        assert str(updated.ocpi["elements"][0]["price_components"][0]["price"]) == "0.40"
        assert updated.ocpi["id"] == updated.ocpi_id == str(tariff_id)
        assert updated.ocpi["last_updated"] == "2026-03-02T09:01:00Z"
        assert [v.version for v in versions] == [1, 2]
        assert versions[1].ocpi_json == updated.ocpi_json
        assert str(first.ocpi["elements"][0]["price_components"][0]["price"]) == "0.35"

    async def test_the_same_document_or_a_rename_keeps_the_version(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id, price="0.35")
        clock.advance(seconds=60)

        # Act
        async with context.unit_of_work() as db:
            updated = await catalog.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=tariff_id,
                name="Renamed",
                ocpi=simple(price="0.35"),
                now=clock.now(),
            )
            await db.commit()

        # Assert
        assert (updated.name, updated.version) == ("Renamed", 1)
        assert updated.updated_at == clock.now()
        assert updated.ocpi["last_updated"] == "2026-03-02T09:00:00Z"

    @pytest.mark.parametrize(
        ("change", "field"),
        [({"currency": "SEK"}, "ocpi.currency"), ({"id": "other"}, "ocpi.id")],
    )
    async def test_a_new_version_keeps_currency_and_ocpi_id(
        self, context: ServiceContext, operator_id: int, change: dict[str, str], field: str
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await catalog.update_tariff(
                    db=db,
                    operator_id=operator_id,
                    tariff_id=tariff_id,
                    ocpi={**simple(), **change},
                    now=START,
                )
        assert raised.value.field == field

    async def test_setting_a_default_clears_the_previous_one(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        first = await add_tariff(context, operator_id, name="First", is_default=True)
        second = await add_tariff(context, operator_id, name="Second")

        # Act
        async with context.unit_of_work() as db:
            await catalog.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=second,
                is_default=True,
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        async with context.unit_of_work() as db:
            page = await catalog.list_tariffs(db=db, operator_id=operator_id)
        defaults = {tariff.id: tariff.is_default for tariff in page.items}
        assert defaults == {first: False, second: True}

    async def test_creating_a_default_clears_only_this_operators_default(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        others_default = await add_tariff(context, other_operator, is_default=True)
        mine = await add_tariff(context, operator_id, is_default=True)

        # Act
        newer = await add_tariff(context, operator_id, name="Newer", is_default=True)

        # Assert
        async with context.unit_of_work() as db:
            rows = (await db.execute(select(Tariff.id, Tariff.is_default))).all()
        flags = dict(rows)
        assert flags == {others_default: True, mine: False, newer: True}

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("energy_price_per_kwh", Decimal("-0.01")),
            ("session_fee", Decimal("NaN")),
            ("vat_percent", Decimal("100.5")),
            ("currency", "eur"),
            ("energy_price_per_kwh", 0.35),
        ],
    )
    def test_simple_tariff_names_the_rejected_term(self, field: str, value: object) -> None:
        # Arrange
        terms: dict[str, object] = {
            "currency": "EUR",
            "energy_price_per_kwh": Decimal("0.35"),
            "session_fee": Decimal(0),
            "vat_percent": Decimal(19),
        }
        terms[field] = value

        # Act / Assert
        with pytest.raises(InvalidRequest) as raised:
            catalog.simple_tariff_ocpi(**terms)  # type: ignore[arg-type]
        assert raised.value.field == field

    def test_simple_tariff_prices_energy_fee_time_and_parking(self) -> None:
        document = catalog.simple_tariff_ocpi(
            currency="EUR",
            energy_price_per_kwh=Decimal("0.39"),
            session_fee=Decimal("0.50"),
            vat_percent=Decimal("19"),
            time_price_per_hour=Decimal("1.20"),
            parking_price_per_hour=Decimal("6.00"),
        )

        assert dumps_ocpi(document) == (
            '{"currency": "EUR", "elements": [{"price_components": ['
            '{"type": "ENERGY", "price": 0.39, "vat": 19, "step_size": 1}, '
            '{"type": "FLAT", "price": 0.50, "vat": 19, "step_size": 1}, '
            '{"type": "TIME", "price": 1.20, "vat": 19, "step_size": 1}, '
            '{"type": "PARKING_TIME", "price": 6.00, "vat": 19, "step_size": 1}]}]}'
        )
        assert catalog.simple_tariff_ocpi(
            currency="EUR",
            energy_price_per_kwh=Decimal("0.39"),
            session_fee=Decimal(0),
            vat_percent=Decimal(0),
        )["elements"] == [
            {
                "price_components": [
                    {"type": "ENERGY", "price": Decimal("0.39"), "vat": 0, "step_size": 1}
                ]
            }
        ]

    async def test_tariff_of_another_operator_is_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        tariff_id = await add_tariff(context, other_operator)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(NotFound):
                await catalog.get_tariff(db=db, operator_id=operator_id, tariff_id=tariff_id)
            with pytest.raises(NotFound):
                await catalog.list_tariff_versions(
                    db=db, operator_id=operator_id, tariff_id=tariff_id
                )
            with pytest.raises(NotFound):
                await catalog.get_tariff_version(
                    db=db, operator_id=operator_id, tariff_id=tariff_id, version=1
                )
            with pytest.raises(NotFound):
                await catalog.update_tariff(
                    db=db,
                    operator_id=operator_id,
                    tariff_id=tariff_id,
                    name="Mine now",
                    now=context.clock.now(),
                )


class TestResolveTariff:
    async def test_follows_precedence_driver_group_evse_station_location_default(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange: a tariff at every level, then remove them from the top down.
        default = await add_tariff(context, operator_id, name="Default", is_default=True)
        at_location = await add_tariff(context, operator_id, name="Location")
        at_station = await add_tariff(context, operator_id, name="Station")
        at_evse = await add_tariff(context, operator_id, name="EVSE")
        for_group = await add_tariff(context, operator_id, name="Group")
        for_driver = await add_tariff(context, operator_id, name="Driver")
        location_id = await add_location(context, operator_id, tariff_id=at_location)
        created = await add_station(
            context, operator_id, location_id=location_id, tariff_id=at_station
        )
        station_id = created.station.id
        evse_id = created.station.evses[0].id
        group_id = await add_group(context, operator_id, tariff_id=for_group)
        driver_id = await add_driver(context, operator_id, tariff_id=for_driver, group_id=group_id)
        async with context.unit_of_work() as db:
            await catalog.update_evse(
                db=db,
                operator_id=operator_id,
                evse_id=evse_id,
                tariff_id=at_evse,
                now=context.clock.now(),
            )
            await db.commit()

        async def resolved() -> int | None:
            async with context.unit_of_work() as db:
                snapshot = await catalog.resolve_tariff(
                    db=db,
                    operator_id=operator_id,
                    station_id=station_id,
                    evse_id=evse_id,
                    driver_id=driver_id,
                    at=START,
                )
            return None if snapshot is None else snapshot.tariff_id

        async def clear(update: Any, **key: object) -> None:
            async with context.unit_of_work() as db:
                await update(
                    db=db,
                    operator_id=operator_id,
                    tariff_id=None,
                    now=context.clock.now(),
                    **key,
                )
                await db.commit()

        # Act / Assert
        assert await resolved() == for_driver
        await clear(catalog.update_driver, driver_id=driver_id)
        assert await resolved() == for_group
        await clear(catalog.update_driver_group, group_id=group_id)
        assert await resolved() == at_evse
        await clear(catalog.update_evse, evse_id=evse_id)
        assert await resolved() == at_station
        await clear(catalog.update_station, station=station_id, commands=OFFLINE)
        assert await resolved() == at_location
        await clear(catalog.update_location, location_id=location_id)
        assert await resolved() == default
        async with context.unit_of_work() as db:
            await catalog.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=default,
                is_default=False,
                now=context.clock.now(),
            )
            await db.commit()
        assert await resolved() is None

    async def test_passes_over_tariffs_outside_their_validity_window(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange: the driver's tariff starts tomorrow, the station's ended yesterday.
        default = await add_tariff(context, operator_id, name="Default", is_default=True)
        future = await add_tariff(
            context, operator_id, ocpi={**simple(), "start_date_time": "2026-03-03T00:00:00Z"}
        )
        past = await add_tariff(
            context, operator_id, ocpi={**simple(), "end_date_time": "2026-03-02T09:00:00Z"}
        )
        created = await add_station(context, operator_id, tariff_id=past)
        driver_id = await add_driver(context, operator_id, tariff_id=future)

        async def resolved(at: datetime) -> int | None:
            async with context.unit_of_work() as db:
                snapshot = await catalog.resolve_tariff(
                    db=db,
                    operator_id=operator_id,
                    station_id=created.station.id,
                    evse_id=None,
                    driver_id=driver_id,
                    at=at,
                )
            return None if snapshot is None else snapshot.tariff_id

        # Act / Assert: end_date_time is exclusive, start_date_time inclusive.
        assert await resolved(START) == default
        assert await resolved(START - timedelta(microseconds=1)) == past
        assert await resolved(datetime(2026, 3, 3, tzinfo=UTC)) == future

    async def test_returns_the_current_version_as_a_snapshot(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id, price="0.35", is_default=True)
        created = await add_station(context, operator_id)
        async with context.unit_of_work() as db:
            updated = await catalog.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=tariff_id,
                ocpi=simple(price="0.42"),
                now=context.clock.now(),
            )
            await db.commit()

        # Act
        async with context.unit_of_work() as db:
            snapshot = await catalog.resolve_tariff(
                db=db,
                operator_id=operator_id,
                station_id=created.station.id,
                evse_id=None,
                driver_id=None,
                at=START,
            )
            zone = await catalog.station_time_zone(
                db=db, operator_id=operator_id, station_id=created.station.id
            )

        # Assert
        assert snapshot == catalog.TariffSnapshot(
            tariff_id=tariff_id,
            version=2,
            name="Standard",
            currency="EUR",
            ocpi_json=updated.ocpi_json,
        )
        assert zone == "Europe/Berlin"

    async def test_evse_of_another_station_is_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        first = await add_station(context, operator_id, identity="CP-1")
        second = await add_station(context, operator_id, identity="CP-2")

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(NotFound) as raised:
                await catalog.resolve_tariff(
                    db=db,
                    operator_id=operator_id,
                    station_id=first.station.id,
                    evse_id=second.station.evses[0].id,
                    driver_id=None,
                    at=START,
                )
        assert raised.value.kind == "evse"

    async def test_station_of_another_operator_is_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        created = await add_station(context, other_operator)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(NotFound):
                await catalog.resolve_tariff(
                    db=db,
                    operator_id=operator_id,
                    station_id=created.station.id,
                    evse_id=None,
                    driver_id=None,
                    at=START,
                )
            with pytest.raises(NotFound):
                await catalog.station_time_zone(
                    db=db, operator_id=operator_id, station_id=created.station.id
                )


class TestDriverGroupService:
    async def test_creates_updates_and_lists_groups(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id)

        # Act
        group_id = await add_group(context, operator_id, tariff_id=tariff_id)
        async with context.unit_of_work() as db:
            updated = await catalog.update_driver_group(
                db=db,
                operator_id=operator_id,
                group_id=group_id,
                name="Night shift",
                tariff_id=None,
                now=context.clock.now(),
            )
            await db.commit()
        async with context.unit_of_work() as db:
            page = await catalog.list_driver_groups(db=db, operator_id=operator_id)
            read = await catalog.get_driver_group(db=db, operator_id=operator_id, group_id=group_id)

        # Assert
        assert (updated.name, updated.tariff_id) == ("Night shift", None)
        assert read == updated
        assert page.items == [updated]

    async def test_assigns_drivers_to_a_group_of_the_same_operator_only(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        mine = await add_group(context, operator_id)
        theirs = await add_group(context, other_operator)
        driver_id = await add_driver(context, operator_id, group_id=mine)

        # Act / Assert
        async with context.unit_of_work() as db:
            driver = await catalog.get_driver(db=db, operator_id=operator_id, driver_id=driver_id)
            assert driver.group_id == mine
            with pytest.raises(InvalidRequest) as raised:
                await catalog.update_driver(
                    db=db,
                    operator_id=operator_id,
                    driver_id=driver_id,
                    group_id=theirs,
                    now=context.clock.now(),
                )
            assert raised.value.field == "group_id"
            with pytest.raises(NotFound):
                await catalog.get_driver_group(db=db, operator_id=operator_id, group_id=theirs)

    async def test_refuses_a_tariff_of_another_operator(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        other_operator = await add_operator(context)
        foreign_tariff = await add_tariff(context, other_operator)

        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await catalog.create_driver_group(
                    db=db,
                    operator_id=operator_id,
                    name="Fleet",
                    tariff_id=foreign_tariff,
                    now=context.clock.now(),
                )
        assert raised.value.field == "tariff_id"


class TestLocationService:
    async def test_creates_reads_and_partially_updates(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        location_id = await add_location(context, operator_id)
        clock.advance(seconds=5)

        # Act
        async with context.unit_of_work() as db:
            await catalog.update_location(
                db=db,
                operator_id=operator_id,
                location_id=location_id,
                city="Berlin",
                country=None,
                now=clock.now(),
            )
            await db.commit()
        async with context.unit_of_work() as db:
            read = await catalog.get_location(
                db=db, operator_id=operator_id, location_id=location_id
            )

        # Assert
        assert (read.name, read.city, read.country) == ("Depot", "Berlin", None)
        assert read.time_zone == "Europe/Berlin"
        assert read.updated_at == clock.now()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("time_zone", "Mars/Olympus"),
            ("time_zone", "../etc/passwd"),
            ("country", "de"),
            ("country", "DE"),
            ("name", ""),
            ("tariff_id", 999),
        ],
    )
    async def test_rejects_invalid_fields(
        self, context: ServiceContext, operator_id: int, field: str, value: object
    ) -> None:
        # Arrange
        values: dict[str, object] = {"name": "Depot", "time_zone": "UTC", field: value}

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await catalog.create_location(
                    db=db,
                    operator_id=operator_id,
                    now=context.clock.now(),
                    **values,  # type: ignore[arg-type]
                )
        assert raised.value.field == field

    async def test_refuses_a_tariff_of_another_operator(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        foreign_tariff = await add_tariff(context, other_operator)
        location_id = await add_location(context, operator_id)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await catalog.update_location(
                    db=db,
                    operator_id=operator_id,
                    location_id=location_id,
                    tariff_id=foreign_tariff,
                    now=context.clock.now(),
                )
        assert raised.value.field == "tariff_id"

    async def test_lists_only_own_locations_with_total(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        await add_location(context, other_operator)
        mine = [await add_location(context, operator_id) for _ in range(3)]

        # Act
        async with context.unit_of_work() as db:
            page = await catalog.list_locations(
                db=db, operator_id=operator_id, page=PageRequest(limit=2, offset=1)
            )

        # Assert
        assert [location.id for location in page.items] == mine[1:]
        assert (page.total, page.limit, page.offset) == (3, 2, 1)


class TestStationService:
    async def test_creates_evses_and_stores_only_an_argon2_hash(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Act
        created = await add_station(context, operator_id, identity="CP-1", connectors=3)

        # Assert
        assert [evse.connector_id for evse in created.station.evses] == [1, 2, 3]
        assert {evse.max_power_w for evse in created.station.evses} == {22_000}
        assert 16 <= len(created.password) <= 40
        async with context.unit_of_work() as db:
            row = (await db.execute(select(Station))).scalar_one()
        assert row.password_hash is not None
        assert row.password_hash.startswith("$argon2id$")
        assert created.password not in row.password_hash
        assert verify_secret(secret=created.password, secret_hash=row.password_hash)
        assert "password_hash" not in {field.name for field in fields(StationView)}

    async def test_uses_the_given_password(self, context: ServiceContext, operator_id: int) -> None:
        # Act
        created = await add_station(context, operator_id, password="correct-horse-battery")

        # Assert
        assert created.password == "correct-horse-battery"

    async def test_switches_the_price_display(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        location_id = await add_location(context, operator_id)

        # Act
        async with context.unit_of_work() as db:
            created = await catalog.create_station(
                db=db,
                operator_id=operator_id,
                identity="CP-1",
                location_id=location_id,
                pricing_display=True,
                now=context.clock.now(),
                commands=OFFLINE,
            )
            updated = await catalog.update_station(
                db=db,
                operator_id=operator_id,
                station="CP-1",
                pricing_display=False,
                now=context.clock.now(),
                commands=OFFLINE,
            )
            await db.commit()

        # Assert
        assert (created.station.pricing_display, updated.pricing_display) == (True, False)
        assert (
            await add_station(context, operator_id, identity="CP-2")
        ).station.pricing_display is False

    async def test_rejects_duplicate_identity_with_conflict(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange: identities are global, they name the WebSocket URL.
        other_operator = await add_operator(context)
        await add_station(context, other_operator, identity="CP-1")

        # Act / Assert
        with pytest.raises(Conflict):
            await add_station(context, operator_id, identity="CP-1")

    @pytest.mark.parametrize("identity", ["", "CP/1", "CP 1", "CP?1", "é", "x" * 49])
    async def test_rejects_identities_outside_unreserved_url_characters(
        self, context: ServiceContext, operator_id: int, identity: str
    ) -> None:
        with pytest.raises(InvalidRequest) as raised:
            await add_station(context, operator_id, identity=identity)
        assert raised.value.field == "identity"

    @pytest.mark.parametrize("password", ["too-short", "x" * 41, "sixteen chars\x00ok"])
    async def test_rejects_passwords_outside_security_profile_1(
        self, context: ServiceContext, operator_id: int, password: str
    ) -> None:
        with pytest.raises(InvalidRequest) as raised:
            await add_station(context, operator_id, password=password)
        assert raised.value.field == "password"

    async def test_validation_failure_changes_nothing(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        location_id = await add_location(context, operator_id)

        # Act
        with pytest.raises(InvalidRequest):
            await add_station(context, operator_id, location_id=location_id, connectors=9)

        # Assert
        async with context.unit_of_work() as db:
            assert (await db.execute(select(Station))).first() is None
            assert (await db.execute(select(Evse))).first() is None

    async def test_rotating_the_password_replaces_the_hash(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        created = await add_station(context, operator_id)
        clock.advance(seconds=30)

        # Act
        async with context.unit_of_work() as db:
            rotated = await catalog.rotate_station_password(
                db=db, operator_id=operator_id, station="CP-1", now=clock.now()
            )
            await db.commit()

        # Assert
        assert rotated.password != created.password
        async with context.unit_of_work() as db:
            row = (await db.execute(select(Station))).scalar_one()
        assert row.password_hash is not None
        assert verify_secret(secret=rotated.password, secret_hash=row.password_hash)
        assert not verify_secret(secret=created.password, secret_hash=row.password_hash)
        assert row.password_changed_at == clock.now()

    async def test_reports_connection_state_from_the_command_port(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        await add_station(context, operator_id, identity="CP-1")

        # Act
        async with context.unit_of_work() as db:
            online = await catalog.get_station(
                db=db, operator_id=operator_id, station="CP-1", commands=ConnectedStations("CP-1")
            )
            offline = await catalog.get_station(
                db=db, operator_id=operator_id, station="CP-1", commands=OFFLINE
            )

        # Assert
        assert online.connected is True
        assert offline.connected is False

    async def test_addresses_a_station_by_identity_before_id(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange: station 1 is called "2", station 2 is called "CP-2".
        first = await add_station(context, operator_id, identity="2")
        second = await add_station(context, operator_id, identity="CP-2")

        # Act
        async with context.unit_of_work() as db:
            by_identity = await catalog.get_station(
                db=db, operator_id=operator_id, station="2", commands=OFFLINE
            )
            by_numeric_text = await catalog.get_station(
                db=db, operator_id=operator_id, station=str(first.station.id), commands=OFFLINE
            )
            by_id = await catalog.get_station(
                db=db, operator_id=operator_id, station=second.station.id, commands=OFFLINE
            )

        # Assert
        assert by_identity.id == first.station.id
        assert by_numeric_text.id == first.station.id
        assert by_id.identity == "CP-2"

    async def test_lists_by_location_with_evses(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        north = await add_location(context, operator_id)
        south = await add_location(context, operator_id)
        await add_station(context, operator_id, identity="N-1", location_id=north, connectors=2)
        await add_station(context, operator_id, identity="S-1", location_id=south)
        await add_station(context, operator_id, identity="N-2", location_id=north)

        # Act
        async with context.unit_of_work() as db:
            page = await catalog.list_stations(
                db=db, operator_id=operator_id, commands=OFFLINE, location_id=north
            )

        # Assert
        assert [(s.identity, len(s.evses)) for s in page.items] == [("N-1", 2), ("N-2", 1)]
        assert page.total == 2

    async def test_station_of_another_operator_is_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        created = await add_station(context, other_operator, identity="THEIRS")

        # Act / Assert
        async with context.unit_of_work() as db:
            for key in (created.station.id, "THEIRS"):
                with pytest.raises(NotFound):
                    await catalog.get_station(
                        db=db, operator_id=operator_id, station=key, commands=OFFLINE
                    )
            with pytest.raises(NotFound):
                await catalog.rotate_station_password(
                    db=db, operator_id=operator_id, station="THEIRS", now=context.clock.now()
                )

    async def test_refuses_a_location_of_another_operator(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        foreign_location = await add_location(context, other_operator)

        # Act / Assert
        with pytest.raises(InvalidRequest) as raised:
            await add_station(context, operator_id, location_id=foreign_location)
        assert raised.value.field == "location_id"


class TestEvseService:
    async def test_adds_the_next_free_connector(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        await add_station(context, operator_id, connectors=2)

        # Act
        async with context.unit_of_work() as db:
            evse = await catalog.create_evse(
                db=db,
                operator_id=operator_id,
                station="CP-1",
                uid="de*abc*e1234",
                power_type="DC",
                connector_standard="IEC_62196_T2_COMBO",
                max_power_w=150_000,
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        assert evse.connector_id == 3
        assert evse.uid == "DE*ABC*E1234"
        assert (evse.power_type, evse.max_power_w) == ("DC", 150_000)

    async def test_rejects_a_duplicate_connector_with_conflict(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        await add_station(context, operator_id, connectors=2)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(Conflict):
                await catalog.create_evse(
                    db=db,
                    operator_id=operator_id,
                    station="CP-1",
                    connector_id=2,
                    now=context.clock.now(),
                )

    async def test_rejects_a_duplicate_evse_id_with_conflict(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        created = await add_station(context, operator_id, connectors=2)
        first, second = created.station.evses
        async with context.unit_of_work() as db:
            await catalog.update_evse(
                db=db,
                operator_id=operator_id,
                evse_id=first.id,
                uid="DE*ABC*E1",
                now=context.clock.now(),
            )
            await db.commit()

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(Conflict):
                await catalog.update_evse(
                    db=db,
                    operator_id=operator_id,
                    evse_id=second.id,
                    uid="de*abc*e1",
                    now=context.clock.now(),
                )

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("max_power_w", 0),
            ("max_power_w", 1_000_001),
            ("uid", "not an evse id"),
            ("power_type", "AC_2_PHASE"),
            ("connector_standard", "SCHUKO"),
        ],
    )
    async def test_rejects_invalid_updates(
        self, context: ServiceContext, operator_id: int, field: str, value: object
    ) -> None:
        # Arrange
        created = await add_station(context, operator_id)
        changes: dict[str, object] = {field: value}

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await catalog.update_evse(
                    db=db,
                    operator_id=operator_id,
                    evse_id=created.station.evses[0].id,
                    now=context.clock.now(),
                    **changes,  # type: ignore[arg-type]
                )
        assert raised.value.field == field

    async def test_evse_of_another_operator_is_not_found(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        created = await add_station(context, other_operator)

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(NotFound):
                await catalog.get_evse(
                    db=db, operator_id=operator_id, evse_id=created.station.evses[0].id
                )
            with pytest.raises(NotFound):
                await catalog.list_evses(db=db, operator_id=operator_id, station="CP-1")


class TestDriverService:
    async def test_creates_and_updates_a_driver(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        driver_id = await add_driver(context, operator_id)

        # Act
        async with context.unit_of_work() as db:
            updated = await catalog.update_driver(
                db=db,
                operator_id=operator_id,
                driver_id=driver_id,
                email=None,
                name="Ada King",
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        assert (updated.name, updated.email) == ("Ada King", None)

    @pytest.mark.parametrize("email", ["ada", "ada@", "@example.com", "ada @example.com"])
    async def test_rejects_malformed_email(
        self, context: ServiceContext, operator_id: int, email: str
    ) -> None:
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await catalog.create_driver(
                    db=db, operator_id=operator_id, name="Ada", email=email, now=context.clock.now()
                )
        assert raised.value.field == "email"


class TestTokenService:
    async def test_normalises_the_uid_and_stores_expiry_in_utc(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        driver_id = await add_driver(context, operator_id)
        expiry = datetime(2027, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))

        # Act
        async with context.unit_of_work() as db:
            token = await catalog.create_token(
                db=db,
                operator_id=operator_id,
                uid=" 04a2b3c4 ",
                driver_id=driver_id,
                expires_at=expiry,
                type=TokenType.RFID,
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        assert token.uid == "04A2B3C4"
        assert token.status == TokenStatus.ACTIVE
        async with context.unit_of_work() as db:
            row = (await db.execute(select(Token))).scalar_one()
        assert row.expires_at == datetime(2027, 1, 1, tzinfo=UTC)
        assert row.uid == "04A2B3C4"

    async def test_rejects_a_duplicate_uid_in_any_case_with_conflict(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        async with context.unit_of_work() as db:
            await catalog.create_token(
                db=db, operator_id=operator_id, uid="04A2B3C4", now=context.clock.now()
            )
            await db.commit()

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(Conflict):
                await catalog.create_token(
                    db=db, operator_id=operator_id, uid="04a2b3c4", now=context.clock.now()
                )

    async def test_same_uid_may_exist_at_another_operator(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        async with context.unit_of_work() as db:
            await catalog.create_token(
                db=db, operator_id=other_operator, uid="04A2B3C4", now=context.clock.now()
            )
            await db.commit()

        # Act
        async with context.unit_of_work() as db:
            token = await catalog.create_token(
                db=db, operator_id=operator_id, uid="04A2B3C4", now=context.clock.now()
            )

        # Assert
        assert token.uid == "04A2B3C4"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("uid", ""),
            ("uid", "X" * 21),
            ("uid", "CAFÉ"),
            ("expires_at", datetime(2027, 1, 1)),  # noqa: DTZ001 - the naive datetime is the point
            ("driver_id", 999),
            ("status", "lost"),
        ],
    )
    async def test_rejects_invalid_fields(
        self, context: ServiceContext, operator_id: int, field: str, value: object
    ) -> None:
        # Arrange
        values: dict[str, object] = {"uid": "04A2B3C4", field: value}

        # Act / Assert
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as raised:
                await catalog.create_token(
                    db=db,
                    operator_id=operator_id,
                    now=context.clock.now(),
                    **values,  # type: ignore[arg-type]
                )
        assert raised.value.field == field

    async def test_filters_by_driver_status_and_uid(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        driver_id = await add_driver(context, operator_id)
        async with context.unit_of_work() as db:
            for uid, driver, status in [
                ("AA01", driver_id, TokenStatus.ACTIVE),
                ("AA02", driver_id, TokenStatus.BLOCKED),
                ("AA03", None, TokenStatus.ACTIVE),
            ]:
                await catalog.create_token(
                    db=db,
                    operator_id=operator_id,
                    uid=uid,
                    driver_id=driver,
                    status=status,
                    now=context.clock.now(),
                )
            await db.commit()

        # Act
        async with context.unit_of_work() as db:
            of_driver = await catalog.list_tokens(
                db=db, operator_id=operator_id, driver_id=driver_id
            )
            blocked = await catalog.list_tokens(
                db=db, operator_id=operator_id, status=TokenStatus.BLOCKED
            )
            by_uid = await catalog.list_tokens(db=db, operator_id=operator_id, uid="aa03")

        # Assert
        assert [t.uid for t in of_driver.items] == ["AA01", "AA02"]
        assert [t.uid for t in blocked.items] == ["AA02"]
        assert [t.uid for t in by_uid.items] == ["AA03"]

    async def test_blocks_a_token(self, context: ServiceContext, operator_id: int) -> None:
        # Arrange
        async with context.unit_of_work() as db:
            token = await catalog.create_token(
                db=db, operator_id=operator_id, uid="04A2B3C4", now=context.clock.now()
            )
            await db.commit()

        # Act
        async with context.unit_of_work() as db:
            updated = await catalog.update_token(
                db=db,
                operator_id=operator_id,
                token_id=token.id,
                status=TokenStatus.BLOCKED,
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        assert updated.status == "blocked"

    @pytest.mark.parametrize(("limit", "offset"), [(0, 0), (501, 0), (10, -1)])
    async def test_rejects_page_outside_limits(
        self, context: ServiceContext, operator_id: int, limit: int, offset: int
    ) -> None:
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest):
                await catalog.list_tokens(
                    db=db, operator_id=operator_id, page=PageRequest(limit=limit, offset=offset)
                )
