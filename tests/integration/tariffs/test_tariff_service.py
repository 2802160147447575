"""Tariff use cases on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.kit.errors import Conflict, InvalidRequest, NotFound
from evbilling.models import Tariff
from evbilling.tariffs import service as tariffs
from evbilling.tariffs.domain import dumps_ocpi, loads_ocpi
from evbilling.tariffs.schemas import TariffRead
from tests.integration.arrange import (
    START,
    add_operator,
    add_tariff,
    example,
    ocpi_of,
    simple,
)


class TestTariffService:
    async def test_stores_the_ocpi_document_exactly_as_version_1(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        document = loads_ocpi(
            '{"currency": "EUR", "type": "REGULAR", "elements": [{"price_components": ['
            '{"type": "ENERGY", "price": 0.12345600, "vat": 7.70, "step_size": 1}, '
            '{"type": "FLAT", "price": 1.00, "step_size": 1}]}]}'
        )

        # Act
        async with context.unit_of_work() as db:
            created = await tariffs.create_tariff(
                db=db,
                operator_id=operator_id,
                name="Night",
                ocpi=document,
                now=context.clock.now(),
            )
            await db.commit()
        async with context.unit_of_work() as db:
            read = await tariffs.get_tariff(db=db, operator_id=operator_id, tariff_id=created.id)
            versions = await tariffs.list_tariff_versions(
                db=db, operator_id=operator_id, tariff_id=created.id
            )

        # Assert
        assert TariffRead.model_validate(read) == TariffRead.model_validate(created)
        assert (read.ocpi_id, read.currency, read.version) == (str(created.id), "EUR", 1)
        assert read.ocpi_json == (
            f'{{"country_code": "XX", "party_id": "EVB", "id": "{created.id}", '
            '"currency": "EUR", "type": "REGULAR", "elements": [{"price_components": ['
            '{"type": "ENERGY", "price": 0.12345600, "vat": 7.70, "step_size": 1}, '
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
            created = await tariffs.create_tariff(
                db=db, operator_id=operator_id, name="T1", ocpi=document, now=context.clock.now()
            )
            await db.commit()

        # Assert
        assert created.ocpi_id == "12"
        assert ocpi_of(created) == document
        assert created.ocpi_json == dumps_ocpi(document)

    async def test_rejects_a_second_tariff_with_the_same_ocpi_id(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        other_operator = await add_operator(context)
        async with context.unit_of_work() as db:
            for operator in (operator_id, other_operator):
                await tariffs.create_tariff(
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
                await tariffs.create_tariff(
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
            await tariffs.create_tariff(
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
            read = await tariffs.get_tariff(db=db, operator_id=operator_id, tariff_id=second)
        assert read.ocpi_id not in ("2", "")
        assert ocpi_of(read)["id"] == read.ocpi_id

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
                await tariffs.create_tariff(
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
                await tariffs.create_tariff(
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
            updated = await tariffs.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=tariff_id,
                ocpi=simple(price="0.40"),
                now=clock.now(),
            )
            await db.commit()
        async with context.unit_of_work() as db:
            versions = await tariffs.list_tariff_versions(
                db=db, operator_id=operator_id, tariff_id=tariff_id
            )
            first = await tariffs.get_tariff_version(
                db=db, operator_id=operator_id, tariff_id=tariff_id, version=1
            )

        # Assert
        assert updated.version == 2
        assert updated.updated_at == clock.now()
        assert updated.created_at == clock.now() - timedelta(seconds=60)
        assert str(ocpi_of(updated)["elements"][0]["price_components"][0]["price"]) == "0.40"
        assert ocpi_of(updated)["id"] == updated.ocpi_id == str(tariff_id)
        assert ocpi_of(updated)["last_updated"] == "2026-03-02T09:01:00Z"
        assert [v.version for v in versions] == [1, 2]
        assert versions[1].ocpi_json == updated.ocpi_json
        assert str(ocpi_of(first)["elements"][0]["price_components"][0]["price"]) == "0.35"

    async def test_the_same_document_or_a_rename_keeps_the_version(
        self, context: ServiceContext, operator_id: int, clock: FixedClock
    ) -> None:
        # Arrange
        tariff_id = await add_tariff(context, operator_id, price="0.35")
        clock.advance(seconds=60)

        # Act
        async with context.unit_of_work() as db:
            updated = await tariffs.update_tariff(
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
        assert ocpi_of(updated)["last_updated"] == "2026-03-02T09:00:00Z"

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
                await tariffs.update_tariff(
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
            await tariffs.update_tariff(
                db=db,
                operator_id=operator_id,
                tariff_id=second,
                is_default=True,
                now=context.clock.now(),
            )
            await db.commit()

        # Assert
        async with context.unit_of_work() as db:
            page = await tariffs.list_tariffs(db=db, operator_id=operator_id)
        defaults = {tariff.id: tariff.is_default for tariff in page.rows}
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
            tariffs.simple_tariff_ocpi(**terms)  # type: ignore[arg-type]
        assert raised.value.field == field

    def test_simple_tariff_prices_energy_fee_time_and_parking(self) -> None:
        document = tariffs.simple_tariff_ocpi(
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
        assert tariffs.simple_tariff_ocpi(
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
                await tariffs.get_tariff(db=db, operator_id=operator_id, tariff_id=tariff_id)
            with pytest.raises(NotFound):
                await tariffs.list_tariff_versions(
                    db=db, operator_id=operator_id, tariff_id=tariff_id
                )
            with pytest.raises(NotFound):
                await tariffs.get_tariff_version(
                    db=db, operator_id=operator_id, tariff_id=tariff_id, version=1
                )
            with pytest.raises(NotFound):
                await tariffs.update_tariff(
                    db=db,
                    operator_id=operator_id,
                    tariff_id=tariff_id,
                    name="Mine now",
                    now=context.clock.now(),
                )
