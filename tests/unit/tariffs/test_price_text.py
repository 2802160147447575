"""A tariff in a few words for drivers and charger displays."""

from __future__ import annotations

from evbilling.tariffs.domain import loads_ocpi, parse_tariff
from evbilling.tariffs.price_text import price_text
from tests.fixtures import OCPI_EXAMPLES

EXAMPLES = OCPI_EXAMPLES.parent


def tariff(name: str) -> str:
    return (EXAMPLES / "examples" / name).read_text()


class TestPriceText:
    def test_prefers_the_tariffs_own_text_in_the_language(self) -> None:
        document = parse_tariff(loads_ocpi(tariff("tariff_2_alt_text.json")))

        assert price_text(tariff=document, language="nl") == "2.00 euro p/uur inclusief BTW."

    def test_lists_prices_with_their_time_windows(self) -> None:
        document = parse_tariff(loads_ocpi(tariff("tariff_14_step_size.json")))

        text = price_text(tariff=document)

        # No VAT given: none applies, the prices are the same including VAT.
        assert text.startswith("1.20 EUR/h charging (00:00-17:00); 1.00 EUR/h parking")
        assert text.endswith(", incl. VAT")

    def test_names_a_single_vat_rate(self) -> None:
        document = parse_tariff(loads_ocpi(tariff("tariff_8_simple_025kwh.json")))

        assert price_text(tariff=document) == "0.275 EUR/kWh, incl. 10.0% VAT"
