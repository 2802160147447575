"""GET /me and DELETE /me: the signed-in driver's own account, and nobody else's."""

from __future__ import annotations

import httpx

from evbilling.infra.context import ServiceContext
from tests.app_support import signed_in_driver


class TestMe:
    async def test_shows_the_signed_in_drivers_account(
        self, context: ServiceContext, operator_id: int, client: httpx.AsyncClient
    ) -> None:
        driver = await signed_in_driver(
            context=context, operator_id=operator_id, email="Ada@Example.com", name="Ada"
        )

        response = await client.get("/me", headers=driver.headers)

        assert response.status_code == 200
        body = response.json()
        assert body["driver_id"] == driver.driver_id
        assert body["account_id"] == driver.account_id
        assert body["email"] == "ada@example.com"
        assert body["name"] == "Ada"
        assert body["verified"] is True

    async def test_refuses_a_request_without_a_token(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/me")

        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
