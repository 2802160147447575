"""What the app scanned or typed, read as an EVSE ID; a tariff in plain words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evbilling.app.evses import evse_uid_of, price_words
from evbilling.kit.errors import InvalidRequest
from evbilling.tariffs.domain import parse_tariff_json
from evbilling.tariffs.domain.codec import dumps_ocpi


class TestEvseUidOf:
    @pytest.mark.parametrize(
        "code",
        [
            "DE*ABC*E1234",
            "de*abc*e1234",
            "https://charge.example.com/pay/DE*ABC*E1234",
            "https://charge.example.com/pay/DE%2AABC%2AE1234?src=qr",
            "/pay/DE*ABC*E1234/",
        ],
    )
    def test_reads_the_evse_id_or_the_qr_codes_url(self, code: str) -> None:
        assert evse_uid_of(code) == "DE*ABC*E1234"

    @pytest.mark.parametrize(
        "code", ["", "not an evse", "https://example.com/pay/", "DE*ABC*E1\x00", "x" * 600]
    )
    def test_refuses_anything_else(self, code: str) -> None:
        with pytest.raises(InvalidRequest):
            evse_uid_of(code)


def _tariff(*components: tuple[str, str, int | None]) -> str:
    return dumps_ocpi(
        {
            "country_code": "DE",
            "party_id": "EVB",
            "id": "T1",
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        {"type": kind, "price": Decimal(price), "step_size": 1}
                        | ({"vat": Decimal(vat)} if vat is not None else {})
                        for kind, price, vat in components
                    ]
                }
            ],
            "last_updated": "2026-01-01T00:00:00Z",
        }
    )


class TestPriceWords:
    def test_names_each_price_in_the_drivers_order_with_vat(self) -> None:
        tariff = parse_tariff_json(
            _tariff(
                ("PARKING_TIME", "6.00", 19),
                ("FLAT", "1.00", 19),
                ("TIME", "3.00", 19),
                ("ENERGY", "0.40", 19),
            )
        )

        words = price_words(tariff)

        assert [word.kind for word in words] == ["energy", "time", "flat", "parking_time"]
        assert [word.text for word in words] == [
            "0.476 EUR per kWh, incl. 19% VAT",
            "0.0595 EUR per minute charging, incl. 19% VAT",
            "1.19 EUR per session, incl. 19% VAT",
            "idle fee 0.119 EUR per minute, incl. 19% VAT",
        ]

    def test_leaves_out_what_the_tariff_does_not_charge(self) -> None:
        words = price_words(parse_tariff_json(_tariff(("ENERGY", "0.30", None))))

        assert [word.text for word in words] == ["0.30 EUR per kWh, incl. VAT"]
