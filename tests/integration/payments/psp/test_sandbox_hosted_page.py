"""The hosted card-entry page: plain HTML, checks its input, keeps only a token, brand, last 4
and expiry, and redirects to the return URL. The card number is in neither the sandbox's
database nor the logs afterwards."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from evbilling.payments.psp import CardSetupStatus
from evbilling.payments.psp.sandbox import tables
from tests.integration.payments.psp.sandbox_support import Sandbox

NUMBER = "4000000000000119"
CVC = "7391"


async def started(sandbox: Sandbox) -> tuple[str, str]:
    customer = await sandbox.provider.create_customer(
        idempotency_key="customer:1", reference="driver:1", email=None
    )
    setup = await sandbox.provider.start_card_setup(
        idempotency_key="setup:1",
        customer_id=customer.id,
        return_url="https://evbilling.example/cards/done?driver=1",
    )
    return setup.id, setup.url


async def everything_stored(sandbox: Sandbox) -> str:
    async with sandbox.server.engine.connect() as conn:
        rows: list[object] = []
        for table in tables.metadata.sorted_tables:
            rows.extend((await conn.execute(select(table))).all())
    return repr(rows)


class TestPage:
    async def test_renders_a_plain_mobile_form(self, sandbox: Sandbox) -> None:
        _, url = await started(sandbox)
        assert url.startswith("http://testserver/sandbox-psp/setup/seti_sbx_")
        page = await sandbox.http.get(url)
        assert page.status_code == 200
        html = page.text.lower()
        assert 'name="viewport"' in html
        assert "<style>" in html
        for forbidden in ("<script", "<link", "src=", "https://", "javascript"):
            assert forbidden not in html
        assert page.headers["cache-control"] == "no-store"

    async def test_a_link_without_its_key_is_not_found(self, sandbox: Sandbox) -> None:
        setup_id, _ = await started(sandbox)
        page = await sandbox.http.get(f"/sandbox-psp/setup/{setup_id}?key=wrong")
        assert page.status_code == 404


class TestSubmission:
    async def test_saves_a_token_and_redirects_with_the_setup_id(self, sandbox: Sandbox) -> None:
        setup_id, url = await started(sandbox)
        response = await sandbox.submit(url, number="4000 0000 0000 0119", expiry="04/29", cvc=CVC)

        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert location.netloc == "evbilling.example"
        assert parse_qs(location.query) == {"driver": ["1"], "setup_id": [setup_id]}
        setup = await sandbox.provider.retrieve_card_setup(setup_id=setup_id)
        assert setup.status is CardSetupStatus.SUCCEEDED
        assert setup.method is not None
        method = setup.method
        assert (method.brand, method.last4, method.exp_month, method.exp_year) == (
            "visa",
            "0119",
            4,
            2029,
        )
        assert method.id.startswith("pm_sbx_")

    @pytest.mark.parametrize(
        ("number", "expiry", "cvc", "message"),
        [
            ("4000000000000118", "04/29", "123", "check digit"),
            ("4000000000000119", "01/26", "123", "expired"),
            ("4000000000000119", "04/29", "1", "security code"),
        ],
    )
    async def test_refuses_bad_input_and_saves_nothing(
        self, sandbox: Sandbox, number: str, expiry: str, cvc: str, message: str
    ) -> None:
        setup_id, url = await started(sandbox)
        response = await sandbox.submit(url, number=number, expiry=expiry, cvc=cvc)
        assert response.status_code == 422
        assert message in response.text
        assert number not in response.text
        setup = await sandbox.provider.retrieve_card_setup(setup_id=setup_id)
        assert setup.status is CardSetupStatus.PENDING
        assert setup.method is None

    async def test_a_completed_setup_cannot_be_filled_in_again(self, sandbox: Sandbox) -> None:
        setup_id, url = await started(sandbox)
        await sandbox.submit(url, number=NUMBER, cvc=CVC)
        again = await sandbox.http.get(url)
        assert "Card saved" in again.text
        resubmitted = await sandbox.http.post(
            url, data={"number": "4242424242424242", "expiry": "12/34", "cvc": "123"}
        )
        assert resubmitted.status_code == 400
        setup = await sandbox.provider.retrieve_card_setup(setup_id=setup_id)
        assert setup.method is not None
        assert setup.method.last4 == "0119"


class TestNoCardData:
    async def test_the_number_and_cvc_are_never_stored_or_logged(
        self,
        sandbox: Sandbox,
        sandbox_database_url: str,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        caplog.set_level(logging.DEBUG)
        _, url = await started(sandbox)
        await sandbox.submit(url, number="4000000000000118", cvc=CVC)  # refused (Luhn)
        await sandbox.submit(url, number=NUMBER, cvc=CVC)
        await sandbox.drain()

        stored = await everything_stored(sandbox)
        assert "0119" in stored  # the last 4 are kept...
        for secret in (NUMBER, "4000000000000118", "000000000011", CVC):
            assert secret not in stored
        if sandbox_database_url.startswith("sqlite"):
            path = Path(sandbox_database_url.removeprefix("sqlite+aiosqlite:///"))
            for file in path.parent.glob(path.name + "*"):
                raw = file.read_bytes()
                assert NUMBER.encode() not in raw
                assert b"4000000000000118" not in raw
        logged = caplog.text + "".join(capsys.readouterr())
        for secret in (NUMBER, "4000000000000118", CVC):
            assert secret not in logged
        webhooks = b"".join(item.body for item in sandbox.receiver.received)
        assert NUMBER.encode() not in webhooks
