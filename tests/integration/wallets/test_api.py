"""The operator's wallet API: a driver's wallet, goodwill credits (reason required, up to the
maximum balance, refused with nothing changed), movements in keyset pages, and another
operator's driver answering 404."""

from __future__ import annotations

import httpx

from evbilling.infra.context import ServiceContext
from tests.integration.arrange import add_driver
from tests.integration.payments.support import Payments
from tests.integration.wallets.support import trial_balance_is_zero


async def credit(
    api: httpx.AsyncClient, driver_id: int, amount: str, reason: str = "sorry"
) -> httpx.Response:
    return await api.post(
        f"/drivers/{driver_id}/wallet/credits",
        json={"amount": amount, "currency": "EUR", "reason": reason},
    )


class TestGoodwillCredits:
    async def test_credits_the_wallet_and_shows_it(self, payments: Payments) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)

        created = await credit(payments.api, driver_id, "12.30", reason="broken charger")

        assert created.status_code == 201, created.text
        assert created.json()["kind"] == "goodwill"
        assert created.json()["amount"] == "12.30"
        assert "broken charger" in created.json()["description"]
        shown = await payments.api.get(f"/drivers/{driver_id}/wallet")
        assert shown.status_code == 200
        assert shown.json()["available"] == "12.30"
        assert shown.json()["available_minor"] == 1230
        assert await trial_balance_is_zero(payments.context)

    async def test_refuses_a_credit_above_the_maximum_balance(self, payments: Payments) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        assert (await credit(payments.api, driver_id, "450")).status_code == 201

        refused = await credit(payments.api, driver_id, "50.01")

        assert refused.status_code == 422
        assert "maximum of 500" in refused.json()["detail"]
        assert (await payments.api.get(f"/drivers/{driver_id}/wallet")).json()[
            "available"
        ] == "450.00"

    async def test_refuses_hostile_input_with_nothing_changed(self, payments: Payments) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        for body in (
            {"amount": "10", "currency": "EUR", "reason": ""},
            {"amount": "10", "currency": "EUR", "reason": "x\u0000"},
            {"amount": "-1", "currency": "EUR", "reason": "r"},
            {"amount": "0.001", "currency": "EUR", "reason": "r"},
            {"amount": "1e30", "currency": "EUR", "reason": "r"},
            {"amount": "10", "currency": "eur", "reason": "r"},
            {"amount": "10", "currency": "EUR", "reason": "r" * 201},
            {"amount": "10", "currency": "EUR", "reason": "r", "extra": 1},
        ):
            refused = await payments.api.post(f"/drivers/{driver_id}/wallet/credits", json=body)
            assert refused.status_code == 422, (body, refused.text)
        assert (await payments.api.get(f"/drivers/{driver_id}/wallet")).status_code == 404


class TestMovements:
    async def test_pages_newest_first(self, payments: Payments) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        for amount in ("1", "2", "3"):
            assert (await credit(payments.api, driver_id, amount)).status_code == 201

        first = (await payments.api.get(f"/drivers/{driver_id}/wallet/movements?limit=2")).json()
        rest = (
            await payments.api.get(
                f"/drivers/{driver_id}/wallet/movements?limit=2&after={first['next_after']}"
            )
        ).json()

        assert [row["amount"] for row in first["items"]] == ["3.00", "2.00"]
        assert [row["amount"] for row in rest["items"]] == ["1.00"]
        assert rest["next_after"] is None


class TestAnotherOperator:
    async def test_sees_and_credits_nothing(
        self, payments: Payments, other_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        driver_id = await add_driver(payments.context, payments.operator_id)
        assert (await credit(payments.api, driver_id, "5")).status_code == 201

        for response in (
            await other_client.get(f"/drivers/{driver_id}/wallet"),
            await other_client.get(f"/drivers/{driver_id}/wallet/movements"),
        ):
            assert response.status_code == 404
            assert "5.00" not in response.text
        refused = await credit(other_client, driver_id, "5")

        assert refused.status_code in (403, 404)
        assert (await payments.api.get(f"/drivers/{driver_id}/wallet")).json()[
            "available"
        ] == "5.00"
