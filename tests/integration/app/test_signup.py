"""POST /signup and the e-mail verification link: a driver and an unverified account, a link
mailed through the outbox that works once and expires; no answer tells whether an address
already has an account."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.models import Driver
from tests.integration.app.mails import account_by_email, account_count, last_token, mails_to

PASSWORD = "a long enough password"


def signup(operator: int, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "operator_id": operator,
        "email": "ada@example.com",
        "password": PASSWORD,
        "name": "Ada",
    }
    body.update(changes)
    return body


async def driver_count(context: ServiceContext) -> int:
    async with context.unit_of_work() as db:
        return int(await db.scalar(select(func.count()).select_from(Driver)) or 0)


class TestSignUp:
    async def test_creates_a_driver_and_an_unverified_account_and_mails_a_link(
        self, context: ServiceContext, operator_id: int, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/signup", json=signup(operator_id, email=" Ada@Example.COM "))

        assert response.status_code == 202
        account = await account_by_email(context, "ada@example.com")
        assert account is not None
        assert account.email_verified_at is None
        assert account.password_hash.startswith("$argon2")
        assert account.operator_id == operator_id
        async with context.unit_of_work() as db:
            driver = await db.get(Driver, account.driver_id)
        assert driver is not None
        assert driver.name == "Ada"
        assert driver.operator_id == operator_id
        (mail,) = await mails_to(context, "ada@example.com")
        assert "/api/app/v1/verify-email?token=" in mail.body_text

    async def test_answers_a_taken_address_the_same_and_mails_its_owner(
        self, context: ServiceContext, operator_id: int, client: httpx.AsyncClient
    ) -> None:
        await client.post("/signup", json=signup(operator_id))

        response = await client.post(
            "/signup", json=signup(operator_id, password="another password!")
        )

        assert response.status_code == 202
        assert await account_count(context) == 1
        assert await driver_count(context) == 1
        mails = await mails_to(context, "ada@example.com")
        assert [mail.subject for mail in mails] == [
            "Confirm your e-mail address",
            "You already have an account",
        ]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"email": "a" * 310 + "@example.com"}, "email"),
            ({"email": "ada\x00@example.com"}, "email"),
            ({"email": "ada\x01@example.com"}, "email"),
            ({"email": "not an address"}, "email"),
            ({"password": "short"}, "password"),
            ({"password": "é" * 600}, "password"),  # 1200 bytes of UTF-8
            ({"password": "x" * 5000}, "password"),
            ({"password": "a long password\x00"}, "password"),
            ({"name": ""}, "name"),
            ({"operator_id": 999_999}, "operator_id"),
            ({"operator_id": 2**70}, "operator_id"),
            ({"admin": True}, "admin"),
        ],
    )
    async def test_refuses_hostile_input_and_changes_nothing(
        self,
        context: ServiceContext,
        operator_id: int,
        client: httpx.AsyncClient,
        changes: dict[str, object],
        field: str,
    ) -> None:
        response = await client.post("/signup", json=signup(operator_id, **changes))

        assert response.status_code == 422, response.text
        assert field in response.text
        assert await account_count(context) == 0
        assert await driver_count(context) == 0
        assert await mails_to(context, "ada@example.com") == []


class TestVerifyEmail:
    async def test_the_mailed_link_verifies_the_address_once(
        self, context: ServiceContext, operator_id: int, client: httpx.AsyncClient
    ) -> None:
        await client.post("/signup", json=signup(operator_id))
        token = await last_token(context, "ada@example.com")

        first = await client.get("/verify-email", params={"token": token})
        again = await client.post("/verify-email", json={"token": token})

        assert first.status_code == 200
        assert "confirmed" in first.text
        assert again.status_code == 422
        account = await account_by_email(context, "ada@example.com")
        assert account is not None
        assert account.email_verified_at is not None

    async def test_refuses_an_expired_link(
        self,
        context: ServiceContext,
        clock: FixedClock,
        operator_id: int,
        client: httpx.AsyncClient,
    ) -> None:
        await client.post("/signup", json=signup(operator_id))
        token = await last_token(context, "ada@example.com")
        clock.advance(seconds=49 * 3600)

        response = await client.post("/verify-email", json={"token": token})

        assert response.status_code == 422
        account = await account_by_email(context, "ada@example.com")
        assert account is not None
        assert account.email_verified_at is None

    @pytest.mark.parametrize("token", ["", "nope", "x" * 101, "é" * 10])
    async def test_refuses_a_made_up_token(self, client: httpx.AsyncClient, token: str) -> None:
        response = await client.post("/verify-email", json={"token": token})

        assert response.status_code == 422

    async def test_a_reset_code_does_not_verify(
        self, context: ServiceContext, operator_id: int, client: httpx.AsyncClient
    ) -> None:
        await client.post("/signup", json=signup(operator_id))
        await client.post("/password-reset", json={"email": "ada@example.com"})
        reset_token = await last_token(context, "ada@example.com")

        response = await client.post("/verify-email", json={"token": reset_token})

        assert response.status_code == 422

    async def test_a_new_link_replaces_the_old_one(
        self, context: ServiceContext, operator_id: int, client: httpx.AsyncClient
    ) -> None:
        await client.post("/signup", json=signup(operator_id))
        old = await last_token(context, "ada@example.com")
        login = await client.post("/login", json={"email": "ada@example.com", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        resent = await client.post("/verify-email/resend", headers=headers)
        new = await last_token(context, "ada@example.com")

        assert resent.status_code == 202
        assert (await client.post("/verify-email", json={"token": old})).status_code == 422
        assert (await client.post("/verify-email", json={"token": new})).status_code == 200
        me = await client.get("/me", headers=headers)
        assert me.json()["verified"] is True
