"""Log-in throttling through the API: guessing is refused with 429, and a driver is not
locked out by someone guessing their password from elsewhere."""

from __future__ import annotations

from fastapi import FastAPI

from evbilling.app.login_throttle import AppLoginLimits
from evbilling.infra.context import ServiceContext
from tests.app_support import DEFAULT_PASSWORD, app_api, app_client, signed_in_driver

EMAIL = "ada@example.com"
HOME = "198.51.100.7"
RIGHT = {"email": EMAIL, "password": DEFAULT_PASSWORD}
WRONG = {"email": EMAIL, "password": "guess guess guess"}


def strict_app(context: ServiceContext) -> FastAPI:
    limits = AppLoginLimits(pair_failures=3, lockout_s=600.0, account_failures=5)
    return app_api(context=context, limits=limits)


class TestLogInThrottle:
    async def test_refuses_a_guessing_address_with_429(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        await signed_in_driver(context=context, operator_id=operator_id, email=EMAIL)
        async with app_client(strict_app(context), address="203.0.113.5") as attacker:
            answers = [(await attacker.post("/login", json=WRONG)).status_code for _ in range(4)]
            right_from_there = await attacker.post("/login", json=RIGHT)

        assert answers == [401, 401, 401, 429]
        assert right_from_there.status_code == 429
        assert right_from_there.json()["retry_after"] >= 1

    async def test_guessing_from_many_addresses_does_not_lock_the_driver_out(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        await signed_in_driver(context=context, operator_id=operator_id, email=EMAIL)
        app = strict_app(context)
        async with app_client(app, address=HOME) as phone:
            assert (await phone.post("/login", json=RIGHT)).status_code == 200
        refused = 0
        for n in range(30):
            async with app_client(app, address=f"203.0.113.{n}") as attacker:
                refused += (await attacker.post("/login", json=WRONG)).status_code == 429

        async with app_client(app, address=HOME) as phone:
            response = await phone.post("/login", json=RIGHT)

        assert refused > 0  # the account's slow-down held the attack back
        assert response.status_code == 200
