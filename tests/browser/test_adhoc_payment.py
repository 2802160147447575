"""Ad-hoc payment in a real browser (Debian's chromium through Playwright) against a real
server on loopback with the sandbox provider and a simulated charger: the guest opens the
EVSE's page, sees the tariff and the hold, pays with a sandbox test card on the provider's
hosted page, watches the live session, stops it and reads the receipt, on a desktop and on
a phone viewport; a declined card shows a clear message and starts nothing. Screenshots of
every step are kept in tests/browser/screenshots/.

SQLite only: the use cases behind these pages run on both databases in
tests/integration/payments/test_adhoc.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy import select

from evbilling.infra.context import ServiceContext
from evbilling.infra.mail.outbox import ERASED_BODY
from evbilling.kit import FixedClock
from evbilling.models import AdhocPayment, MailMessage
from tests.functional.adhoc_site import Site, running_site
from tests.integration.payments.adhoc_support import EVSE_UID, priced_evse

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
SUCCESS = "4242 4242 4242 4242"
DECLINE = "4000 0000 0000 0002"
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def enter_card(page: Page, number: str) -> None:
    await page.fill("#number", number)
    await page.fill("#expiry", "12/34")
    await page.fill("#cvc", "123")


@pytest.fixture
async def site(context: ServiceContext, clock: FixedClock, tmp_path: Path, operator_id: int) -> Any:
    await priced_evse(context, operator_id=operator_id)
    async with running_site(context, clock, tmp_path) as running:
        yield running


@pytest.fixture
async def browser() -> Any:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        await launched.close()


class TestPayAtTheChargerInABrowser:
    @pytest.mark.parametrize("device", ["desktop", "phone"])
    async def test_pay_watch_stop_and_read_the_receipt(
        self, site: Site, browser: Browser, device: str, context: ServiceContext
    ) -> None:
        browser_context = await browser.new_context(**VIEWPORTS[device])
        page = await browser_context.new_page()

        await page.goto(f"{site.server.base_url}/pay/{EVSE_UID}")
        await expect(page.locator("h1")).to_have_text(EVSE_UID)
        await expect(page.locator(".prices")).to_contain_text("0.36 EUR per kWh")
        await expect(page.locator("#hold-amount")).to_contain_text("EUR")
        await shot(page, f"{device}-1-offer")

        await page.fill("#email", "guest@example.com")
        await page.click("#pay")
        await expect(page.locator("#number")).to_be_visible()
        await enter_card(page, SUCCESS)
        await shot(page, f"{device}-2-card-page")
        await page.click("button[type=submit]")

        await expect(page.locator("#stop")).to_be_visible(timeout=15_000)
        await expect(page.locator("#energy")).to_have_text("7.40 kWh", timeout=15_000)
        await expect(page.locator("#card")).to_have_text(
            re.compile(r"^Held on your card: \d+\.\d\d EUR$")
        )
        await shot(page, f"{device}-3-charging")

        await page.click("#stop")
        await expect(page.locator("#receipt")).to_be_visible(timeout=15_000)
        await site.run_jobs()  # the capture and the receipt e-mail
        # The page keeps asking until the card is settled, and then says what was taken.
        await expect(page.locator("h1")).to_have_text("Session complete")
        await expect(page.locator("#card")).to_contain_text("Charged to your card:", timeout=10_000)
        await expect(page.locator("#card")).to_contain_text("The rest of the hold is released.")
        await shot(page, f"{device}-4-complete")

        await page.click("#receipt")
        await expect(page.locator("body")).to_contain_text("Total incl. VAT")
        await expect(page.locator("body")).to_contain_text("11.000 kWh")
        await shot(page, f"{device}-5-receipt")
        (mail,) = site.mails()
        assert "guest@example.com" in mail
        assert "Your charging receipt" in mail
        assert f"{site.server.base_url}/receipts/" in mail
        # The address served the receipt: neither the payment nor the outbox keeps more.
        async with context.unit_of_work() as db:
            (guest,) = (await db.execute(select(AdhocPayment))).scalars()
            (sent,) = (await db.execute(select(MailMessage))).scalars()
        assert guest.email is None
        assert (sent.status, sent.body_text) == ("sent", ERASED_BODY)
        assert [name for name, _ in site.charger.received] == [
            "RemoteStartTransaction",
            "RemoteStopTransaction",
        ]
        await browser_context.close()

    async def test_a_declined_card_shows_a_clear_message_and_starts_nothing(
        self, site: Site, browser: Browser
    ) -> None:
        browser_context = await browser.new_context(**VIEWPORTS["phone"])
        page = await browser_context.new_page()

        await page.goto(f"{site.server.base_url}/pay/{EVSE_UID}")
        await page.click("#pay")
        await enter_card(page, DECLINE)
        await page.click("button[type=submit]")

        await expect(page.locator("#message")).to_contain_text("Your card was declined")
        await expect(page.locator("#stop")).to_have_count(0)
        await shot(page, "phone-declined")
        assert site.charger.received == []
        await browser_context.close()
