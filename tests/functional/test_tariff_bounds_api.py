"""Out-of-bounds tariff numbers through the API and the CLI: the field named, nothing stored."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.fixtures import OCPI_EXAMPLES
from tests.functional.api_calls import assert_problem, make_tariff, post_raw
from tests.functional.cli_calls import invoke, invoke_json

COMPONENT = "ocpi.elements[0].price_components[0]"
RESTRICTIONS = "ocpi.elements[0].restrictions"


def document(*, component: str = "", restrictions: str = "", top: str = "") -> str:
    """An OCPI tariff whose component, restrictions or top level carry extra JSON members."""
    fields = '"type": "ENERGY", "price": 0.30, "vat": 19, "step_size": 1'
    if component:
        fields = component
    element = f'{{"price_components": [{{{fields}}}]'
    element += f', "restrictions": {{{restrictions}}}}}' if restrictions else "}"
    extra = f", {top}" if top else ""
    return f'{{"currency": "EUR", "elements": [{element}]{extra}}}'


BAD_DOCUMENTS = [
    pytest.param(
        document(component='"type": "ENERGY", "price": 1e400, "step_size": 1'),
        f"{COMPONENT}.price",
        id="price-1e400",
    ),
    pytest.param(
        document(component='"type": "ENERGY", "price": 1e30, "step_size": 1'),
        f"{COMPONENT}.price",
        id="price-1e30",
    ),
    pytest.param(
        document(component='"type": "ENERGY", "price": 0.0000001, "step_size": 1'),
        f"{COMPONENT}.price",
        id="price-decimal-places",
    ),
    pytest.param(
        document(component='"type": "TIME", "price": 2, "step_size": 0'),
        f"{COMPONENT}.step_size",
        id="step-zero",
    ),
    pytest.param(
        document(component='"type": "TIME", "price": 2, "step_size": 86401'),
        f"{COMPONENT}.step_size",
        id="step-over-a-day",
    ),
    pytest.param(
        document(component='"type": "ENERGY", "price": 0.3, "step_size": 1e400'),
        f"{COMPONENT}.step_size",
        id="step-1e400",
    ),
    pytest.param(
        document(component='"type": "ENERGY", "price": 0.3, "vat": 19.00000001, "step_size": 1'),
        f"{COMPONENT}.vat",
        id="vat-decimal-places",
    ),
    pytest.param(document(restrictions='"max_kwh": 1e30'), f"{RESTRICTIONS}.max_kwh", id="kwh"),
    pytest.param(
        document(restrictions='"min_duration": 31536001'),
        f"{RESTRICTIONS}.min_duration",
        id="duration",
    ),
    pytest.param(
        document(restrictions='"max_current": 10000.5'),
        f"{RESTRICTIONS}.max_current",
        id="current",
    ),
    pytest.param(
        document(restrictions='"min_power": 1e-7'), f"{RESTRICTIONS}.min_power", id="power"
    ),
    pytest.param(
        document(top='"max_price": {"excl_vat": 1e12}'), "ocpi.max_price.excl_vat", id="max-price"
    ),
]


class TestTariffBoundsApi:
    @pytest.mark.parametrize(("ocpi", "field"), BAD_DOCUMENTS)
    async def test_refuses_an_out_of_bounds_number_and_creates_nothing(
        self, api_client: httpx.AsyncClient, ocpi: str, field: str
    ) -> None:
        # Act
        response = await post_raw(api_client, "/tariffs", f'{{"name": "T", "ocpi": {ocpi}}}')

        # Assert
        assert_problem(response, status=422, field=field)
        assert (await api_client.get("/tariffs")).json()["total"] == 0

    async def test_refuses_an_out_of_bounds_new_version_and_keeps_the_old_one(
        self, api_client: httpx.AsyncClient
    ) -> None:
        # Arrange
        tariff = await make_tariff(api_client)
        bad = document(component='"type": "ENERGY", "price": 1e400, "step_size": 1')

        # Act
        response = await api_client.patch(
            f"/tariffs/{tariff['id']}",
            content=f'{{"ocpi": {bad}}}',
            headers={"content-type": "application/json"},
        )

        # Assert
        assert_problem(response, status=422, field=f"{COMPONENT}.price")
        versions = (await api_client.get(f"/tariffs/{tariff['id']}/versions")).json()["items"]
        assert [version["version"] for version in versions] == [1]

    async def test_accepts_numbers_at_their_bounds(self, api_client: httpx.AsyncClient) -> None:
        ocpi = document(
            component='"type": "TIME", "price": 1000000000, "vat": 100, "step_size": 86400',
            restrictions='"max_kwh": 100000, "max_duration": 31536000, "max_power": 10000',
        )

        response = await post_raw(api_client, "/tariffs", f'{{"name": "T", "ocpi": {ocpi}}}')

        assert response.status_code == 201, response.text


class TestTariffBoundsCli:
    def test_an_out_of_bounds_file_is_a_usage_error_naming_the_field(
        self, cli_database: Path, tmp_path: Path
    ) -> None:
        # Arrange
        bad = tmp_path / "bad.json"
        bad.write_text(document(component='"type": "ENERGY", "price": 1e30, "step_size": 1'))

        # Act
        result = invoke("tariff", "import", str(bad))

        # Assert
        assert result.exit_code == 2
        assert f"{COMPONENT}.price: must be at most 1000000000" in result.stderr
        assert invoke_json("tariff", "list")["total"] == 0

    @pytest.mark.parametrize(
        ("option", "value", "field"),
        [
            ("--energy-price", "1e30", "energy_price_per_kwh"),
            ("--session-fee", "0.0000001", "session_fee"),
            ("--time-price", "1e400", "time_price_per_hour"),
        ],
    )
    def test_an_out_of_bounds_price_option_is_a_usage_error(
        self, cli_database: Path, option: str, value: str, field: str
    ) -> None:
        args = ["--currency", "EUR", "--energy-price", "0.30"]
        if option == "--energy-price":
            args = ["--currency", "EUR"]

        result = invoke("tariff", "add", "--name", "T", *args, option, value)

        assert result.exit_code == 2, result.output
        assert field in result.stderr
        assert invoke_json("tariff", "list")["total"] == 0

    def test_rate_refuses_a_partner_tariff_out_of_bounds_as_a_usage_error(
        self, tmp_path: Path
    ) -> None:
        tariff = tmp_path / "tariff.json"
        tariff.write_text(
            '{"country_code": "BE", "party_id": "BEC", "id": "12", "currency": "EUR", '
            '"elements": [{"price_components": [{"type": "TIME", "price": 1e400, '
            '"step_size": 300}]}]}'
        )

        result = invoke(
            "rate", "--cdr", str(OCPI_EXAMPLES / "cdr_example.json"), "--tariff", str(tariff)
        )

        assert result.exit_code == 2
        assert "elements[0].price_components[0].price: must be at most" in result.stderr
