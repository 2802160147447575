"""POST /password-reset and /password-reset/confirm: always accepted, a one-time code that
expires, mailed only to an account's address; confirming it signs out every sign-in."""

from __future__ import annotations

import httpx
import pytest

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from tests.app_support import DEFAULT_PASSWORD, SignedInDriver, signed_in_driver
from tests.integration.app.mails import last_token, mails_to

EMAIL = "ada@example.com"
NEW_PASSWORD = "a brand new password"


@pytest.fixture
async def ada(context: ServiceContext, operator_id: int) -> SignedInDriver:
    return await signed_in_driver(context=context, operator_id=operator_id, email=EMAIL)


async def reset_mails(context: ServiceContext, address: str) -> list[str]:
    return [m.subject for m in await mails_to(context, address) if m.subject.startswith("Reset")]


class TestResetRequest:
    async def test_answers_the_same_for_known_and_unknown_addresses(
        self, ada: SignedInDriver, context: ServiceContext, client: httpx.AsyncClient
    ) -> None:
        known = await client.post("/password-reset", json={"email": EMAIL})
        unknown = await client.post("/password-reset", json={"email": "nobody@example.com"})
        garbage = await client.post("/password-reset", json={"email": "not an address"})

        assert known.status_code == unknown.status_code == garbage.status_code == 202
        assert known.json() == unknown.json() == garbage.json()
        assert await reset_mails(context, EMAIL) == ["Reset your password"]
        assert await mails_to(context, "nobody@example.com") == []

    async def test_mails_at_most_once_a_minute(
        self,
        ada: SignedInDriver,
        context: ServiceContext,
        clock: FixedClock,
        client: httpx.AsyncClient,
    ) -> None:
        for _ in range(3):
            await client.post("/password-reset", json={"email": EMAIL})
        clock.advance(seconds=61)
        await client.post("/password-reset", json={"email": EMAIL})

        assert len(await reset_mails(context, EMAIL)) == 2


class TestResetConfirm:
    async def test_sets_the_password_signs_out_everywhere_and_signs_in_afresh(
        self, ada: SignedInDriver, context: ServiceContext, client: httpx.AsyncClient
    ) -> None:
        await client.post("/password-reset", json={"email": EMAIL})
        token = await last_token(context, EMAIL)

        response = await client.post(
            "/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
        )

        assert response.status_code == 200
        fresh = {"Authorization": f"Bearer {response.json()['access_token']}"}
        assert (await client.get("/me", headers=fresh)).status_code == 200
        assert (await client.get("/me", headers=ada.headers)).status_code == 401
        old = {"email": EMAIL, "password": DEFAULT_PASSWORD}
        assert (await client.post("/login", json=old)).status_code == 401
        new = {"email": EMAIL, "password": NEW_PASSWORD}
        assert (await client.post("/login", json=new)).status_code == 200

    async def test_a_code_works_once(
        self, ada: SignedInDriver, context: ServiceContext, client: httpx.AsyncClient
    ) -> None:
        await client.post("/password-reset", json={"email": EMAIL})
        token = await last_token(context, EMAIL)
        await client.post(
            "/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
        )

        again = await client.post(
            "/password-reset/confirm", json={"token": token, "password": "yet another password"}
        )

        assert again.status_code == 422
        new = {"email": EMAIL, "password": NEW_PASSWORD}
        assert (await client.post("/login", json=new)).status_code == 200

    async def test_a_code_expires_after_an_hour(
        self,
        ada: SignedInDriver,
        context: ServiceContext,
        clock: FixedClock,
        client: httpx.AsyncClient,
    ) -> None:
        await client.post("/password-reset", json={"email": EMAIL})
        token = await last_token(context, EMAIL)
        clock.advance(seconds=3601)

        response = await client.post(
            "/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
        )

        assert response.status_code == 422
        old = {"email": EMAIL, "password": DEFAULT_PASSWORD}
        assert (await client.post("/login", json=old)).status_code == 200

    async def test_a_weak_password_keeps_the_code_usable(
        self, ada: SignedInDriver, context: ServiceContext, client: httpx.AsyncClient
    ) -> None:
        await client.post("/password-reset", json={"email": EMAIL})
        token = await last_token(context, EMAIL)

        weak = await client.post("/password-reset/confirm", json={"token": token, "password": "x"})
        good = await client.post(
            "/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
        )

        assert weak.status_code == 422
        assert good.status_code == 200

    async def test_a_verification_link_is_no_reset_code(
        self, context: ServiceContext, operator_id: int, client: httpx.AsyncClient
    ) -> None:
        await signed_in_driver(
            context=context, operator_id=operator_id, email=EMAIL, verified=False
        )
        verify_token = await last_token(context, EMAIL)

        response = await client.post(
            "/password-reset/confirm", json={"token": verify_token, "password": NEW_PASSWORD}
        )

        assert response.status_code == 422

    @pytest.mark.parametrize("token", ["", "made-up", "y" * 101])
    async def test_refuses_made_up_codes(self, client: httpx.AsyncClient, token: str) -> None:
        response = await client.post(
            "/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
        )

        assert response.status_code == 422
