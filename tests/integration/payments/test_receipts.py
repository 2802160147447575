"""Receipts of finished sessions and their public page (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evbilling.infra.secrets import ApiKeyHasher
from evbilling.kit import NotFound
from evbilling.money import Money
from evbilling.payments import receipts
from tests.integration.payments.flow import card_session
from tests.integration.payments.support import Payments, add_site, start_session


class TestReceipt:
    async def test_a_card_session_has_its_lines_vat_total_and_card(
        self, payments: Payments
    ) -> None:
        paid = await card_session(payments, total="5.95")

        async with payments.context.unit_of_work() as db:
            receipt = await receipts.get_receipt(db=db, session_id=paid.session_id)

        assert receipt.total == Money.of("5.95", "EUR")
        assert [(p.rate, p.net, p.vat) for p in receipt.vat] == [
            (Decimal(19), Money.of("5.00", "EUR"), Money.of("0.95", "EUR"))
        ]
        assert receipt.total_excl_vat + receipt.total_vat == receipt.total
        assert receipt.paid_by.startswith("card ")
        assert receipt.paid_by.endswith("4242")
        assert receipt.captured == Money.of("5.95", "EUR")
        assert receipt.outstanding is None
        assert receipt.station_identity == "CP-1"
        assert receipt.energy_wh == 10_000
        with pytest.raises(NotFound):
            async with payments.context.unit_of_work() as db:
                await receipts.get_driver_receipt(
                    db=db,
                    operator_id=payments.operator_id,
                    driver_id=paid.driver_id + 1000,
                    session_id=paid.session_id,
                )

    async def test_a_running_session_has_no_receipt_yet(self, payments: Payments) -> None:
        station_id, driver_id = await add_site(payments.context, payments.operator_id)
        session_id = await start_session(
            payments.context,
            operator_id=payments.operator_id,
            station_id=station_id,
            driver_id=driver_id,
        )

        with pytest.raises(NotFound):
            async with payments.context.unit_of_work() as db:
                await receipts.get_receipt(db=db, session_id=session_id)


class TestReceiptPage:
    async def test_the_public_link_shows_it_without_an_account_and_a_forged_one_nothing(
        self, payments: Payments
    ) -> None:
        paid = await card_session(payments, total="11.90")
        real = receipts.receipt_token(hasher=payments.context.api_keys, session_id=paid.session_id)
        forged = [f"{paid.session_id}-" + "0" * 40, str(paid.session_id), "abc-def"]
        forged += ["99999999999999999999999-x", real[:-1], f"{paid.session_id + 1}-{real[2:]}"]

        page = await payments.http.get(f"/receipts/{real}")
        pages = [await payments.http.get(f"/receipts/{token}") for token in forged]
        nul = await payments.http.get(f"/receipts/{paid.session_id}-%00")

        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "11.90 EUR" in page.text
        assert "VAT 19" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert [each.status_code for each in pages] == [404] * len(forged)
        assert not any("11.90" in each.text for each in pages)
        assert nul.status_code in (404, 422)
        assert "11.90" not in nul.text


class TestReceiptToken:
    def test_names_its_session_and_nothing_else(self) -> None:
        hasher = ApiKeyHasher.ephemeral()
        token = receipts.receipt_token(hasher=hasher, session_id=42)

        assert receipts.session_of_token(hasher=hasher, token=token) == 42
        assert receipts.session_of_token(hasher=hasher, token=token.replace("42-", "43-")) is None
        assert receipts.session_of_token(hasher=ApiKeyHasher.ephemeral(), token=token) is None
