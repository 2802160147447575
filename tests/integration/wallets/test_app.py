"""The driver's wallet in the app: balance, movements, top-ups from the saved card; driver A
never sees or tops up driver B's wallet (there is no wallet id to pass: every route is the
signed-in driver's own)."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from evbilling.models import WalletTopup
from tests.app_support import SignedInDriver, signed_in_driver
from tests.integration.payments.support import BASE, Payments

APP = f"{BASE}/api/app/v1"


async def driver(payments: Payments, email: str) -> SignedInDriver:
    return await signed_in_driver(
        context=payments.context, operator_id=payments.operator_id, email=email
    )


async def top_up(payments: Payments, who: SignedInDriver, amount: str) -> httpx.Response:
    return await payments.http.post(
        f"{APP}/wallet/top-ups", json={"amount": amount}, headers=who.headers
    )


async def topups(payments: Payments) -> int:
    async with payments.context.unit_of_work() as db:
        return int((await db.execute(select(func.count()).select_from(WalletTopup))).scalar_one())


class TestMyWallet:
    async def test_tops_up_from_the_saved_card(self, payments: Payments) -> None:
        ada = await driver(payments, "ada@example.com")
        await payments.save_card(ada.driver_id)

        created = await top_up(payments, ada, "20.00")

        assert created.status_code == 201, created.text
        assert created.json()["wallet"]["available"] == "20.00"
        shown = await payments.http.get(f"{APP}/wallet", headers=ada.headers)
        assert shown.json()["balance"] == "20.00"
        moved = await payments.http.get(f"{APP}/wallet/movements", headers=ada.headers)
        assert [(row["kind"], row["amount"]) for row in moved.json()["items"]] == [
            ("topup", "20.00")
        ]

    async def test_without_a_saved_card_points_to_the_card_setup(self, payments: Payments) -> None:
        ada = await driver(payments, "ada@example.com")

        refused = await top_up(payments, ada, "20.00")

        assert refused.status_code == 409
        assert "payment-methods/setups" in refused.json()["detail"]
        assert await topups(payments) == 0
        assert (await payments.http.get(f"{APP}/wallet", headers=ada.headers)).status_code == 404

    async def test_refuses_a_top_up_below_the_minimum(self, payments: Payments) -> None:
        ada = await driver(payments, "ada@example.com")
        await payments.save_card(ada.driver_id)

        for amount in ("4.99", "0", "-5", "1e9", "abc"):
            refused = await top_up(payments, ada, amount)
            assert refused.status_code == 422, (amount, refused.text)

        assert await topups(payments) == 0

    async def test_needs_a_token(self, payments: Payments) -> None:
        for response in (
            await payments.http.get(f"{APP}/wallet"),
            await payments.http.post(f"{APP}/wallet/top-ups", json={"amount": "10"}),
        ):
            assert response.status_code == 401


class TestAnotherDriver:
    async def test_never_sees_or_tops_up_my_wallet(self, payments: Payments) -> None:
        ada = await driver(payments, "ada@example.com")
        bob = await driver(payments, "bob@example.com")
        await payments.save_card(ada.driver_id)
        assert (await top_up(payments, ada, "20.00")).status_code == 201

        seen = await payments.http.get(f"{APP}/wallet", headers=bob.headers)
        moved = await payments.http.get(f"{APP}/wallet/movements", headers=bob.headers)
        charged = await top_up(payments, bob, "10.00")

        assert seen.status_code == 404
        assert "20.00" not in seen.text
        assert moved.json()["items"] == []
        assert charged.status_code == 409  # Bob has no card: Ada's is never charged
        mine = await payments.http.get(f"{APP}/wallet", headers=ada.headers)
        assert mine.json()["available"] == "20.00"
        assert await topups(payments) == 1
