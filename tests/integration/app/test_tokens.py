"""Log-in, refresh rotation with reuse detection, log-out, password change, expiry and
closure: which tokens work when."""

from __future__ import annotations

import httpx
import pytest

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from tests.app_support import DEFAULT_PASSWORD, SignedInDriver, signed_in_driver
from tests.integration.app.mails import account_by_email

EMAIL = "ada@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def log_in(
    client: httpx.AsyncClient, *, email: str = EMAIL, password: str = DEFAULT_PASSWORD
) -> httpx.Response:
    return await client.post("/login", json={"email": email, "password": password})


@pytest.fixture
async def ada(context: ServiceContext, operator_id: int) -> SignedInDriver:
    return await signed_in_driver(context=context, operator_id=operator_id, email=EMAIL)


class TestLogIn:
    async def test_issues_an_access_and_a_refresh_token(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        response = await log_in(client, email=" ADA@example.com")

        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == 900
        assert response.headers["cache-control"] == "no-store"
        me = await client.get("/me", headers=bearer(body["access_token"]))
        assert me.json()["account_id"] == ada.account_id

    @pytest.mark.parametrize(
        ("email", "password"),
        [
            (EMAIL, "wrong password!"),
            ("nobody@example.com", DEFAULT_PASSWORD),
            ("not an address", DEFAULT_PASSWORD),
            (EMAIL, "é" * 1000),
        ],
    )
    async def test_refuses_wrong_credentials_without_saying_which(
        self, ada: SignedInDriver, client: httpx.AsyncClient, email: str, password: str
    ) -> None:
        response = await log_in(client, email=email, password=password)

        assert response.status_code == 401
        assert response.json()["detail"] == "wrong e-mail address or password"

    @pytest.mark.parametrize(
        ("email", "password"),
        [
            (EMAIL, "x" * 5000),
            ("a" * 400 + "@example.com", DEFAULT_PASSWORD),
            (EMAIL, DEFAULT_PASSWORD + "\x00"),
            (EMAIL + "\x00", DEFAULT_PASSWORD),
        ],
    )
    async def test_refuses_oversized_or_unstorable_fields(
        self, ada: SignedInDriver, client: httpx.AsyncClient, email: str, password: str
    ) -> None:
        response = await log_in(client, email=email, password=password)

        assert response.status_code == 422

    async def test_lets_an_unverified_account_in_and_says_so(
        self, context: ServiceContext, operator_id: int, client: httpx.AsyncClient
    ) -> None:
        await signed_in_driver(
            context=context, operator_id=operator_id, email=EMAIL, verified=False
        )

        response = await log_in(client)
        me = await client.get("/me", headers=bearer(response.json()["access_token"]))

        assert response.status_code == 200
        assert me.json()["verified"] is False


class TestAccessTokens:
    @pytest.mark.parametrize(
        "header",
        [
            "Bearer",
            "Basic abc",
            "Bearer evba_made-up",
            "Bearer evbr_made-up",
            "Bearer evb_0123456789ab_notakey",
            "Bearer evba_" + "x" * 200,
            "Bearer evba_ünicode".encode("latin-1"),
            b"Bearer evba_\x7f\x01",
        ],
    )
    async def test_refuses_bad_tokens(
        self, ada: SignedInDriver, client: httpx.AsyncClient, header: str | bytes
    ) -> None:
        value = header if isinstance(header, bytes) else header.encode()
        response = await client.get("/me", headers={b"Authorization": value})

        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "email" not in response.text

    async def test_refuses_a_refresh_token_used_as_access_token(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/me", headers=bearer(ada.refresh_token))

        assert response.status_code == 401

    async def test_expire_after_fifteen_minutes(
        self, ada: SignedInDriver, clock: FixedClock, client: httpx.AsyncClient
    ) -> None:
        clock.advance(seconds=14 * 60)
        assert (await client.get("/me", headers=ada.headers)).status_code == 200

        clock.advance(seconds=61)

        assert (await client.get("/me", headers=ada.headers)).status_code == 401

    async def test_one_drivers_token_shows_only_their_own_account(
        self,
        ada: SignedInDriver,
        context: ServiceContext,
        operator_id: int,
        client: httpx.AsyncClient,
    ) -> None:
        bob = await signed_in_driver(
            context=context, operator_id=operator_id, email="bob@example.com"
        )

        response = await client.get("/me", headers=bob.headers)

        assert response.json()["account_id"] == bob.account_id
        assert EMAIL not in response.text


class TestRefresh:
    async def test_rotates_the_pair(self, ada: SignedInDriver, client: httpx.AsyncClient) -> None:
        response = await client.post("/token/refresh", json={"refresh_token": ada.refresh_token})

        assert response.status_code == 200
        pair = response.json()
        assert pair["refresh_token"] != ada.refresh_token
        assert (await client.get("/me", headers=bearer(pair["access_token"]))).status_code == 200

    async def test_reuse_of_a_rotated_token_revokes_the_whole_family(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        rotated = (
            await client.post("/token/refresh", json={"refresh_token": ada.refresh_token})
        ).json()

        reuse = await client.post("/token/refresh", json={"refresh_token": ada.refresh_token})

        assert reuse.status_code == 401
        newest = await client.post(
            "/token/refresh", json={"refresh_token": rotated["refresh_token"]}
        )
        assert newest.status_code == 401
        assert (await client.get("/me", headers=bearer(rotated["access_token"]))).status_code == 401
        assert (await client.get("/me", headers=ada.headers)).status_code == 401

    async def test_reuse_leaves_other_sign_ins_alone(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        other = (await log_in(client)).json()
        await client.post("/token/refresh", json={"refresh_token": ada.refresh_token})

        await client.post("/token/refresh", json={"refresh_token": ada.refresh_token})

        assert (await client.get("/me", headers=bearer(other["access_token"]))).status_code == 200

    async def test_refuses_an_expired_refresh_token(
        self, ada: SignedInDriver, clock: FixedClock, client: httpx.AsyncClient
    ) -> None:
        clock.advance(seconds=30 * 24 * 3600 + 1)

        response = await client.post("/token/refresh", json={"refresh_token": ada.refresh_token})

        assert response.status_code == 401

    @pytest.mark.parametrize("token", ["", "evbr_nope", "evba_nope", "x" * 200, "evbr_\x00"])
    async def test_refuses_made_up_refresh_tokens(
        self, ada: SignedInDriver, client: httpx.AsyncClient, token: str
    ) -> None:
        response = await client.post("/token/refresh", json={"refresh_token": token})

        assert response.status_code in (401, 422)
        assert (await client.get("/me", headers=ada.headers)).status_code == 200


class TestLogOut:
    async def test_revokes_this_sign_ins_tokens_only(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        other = (await log_in(client)).json()

        response = await client.post("/logout", headers=ada.headers)

        assert response.status_code == 204
        assert (await client.get("/me", headers=ada.headers)).status_code == 401
        refresh = await client.post("/token/refresh", json={"refresh_token": ada.refresh_token})
        assert refresh.status_code == 401
        assert (await client.get("/me", headers=bearer(other["access_token"]))).status_code == 200

    async def test_refuses_without_a_token(self, client: httpx.AsyncClient) -> None:
        assert (await client.post("/logout")).status_code == 401


class TestPasswordChange:
    async def test_signs_out_everywhere_and_hands_this_device_new_tokens(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        other = (await log_in(client)).json()

        response = await client.post(
            "/password",
            headers=ada.headers,
            json={"current_password": DEFAULT_PASSWORD, "new_password": "a brand new password"},
        )

        assert response.status_code == 200
        assert (await client.get("/me", headers=ada.headers)).status_code == 401
        assert (await client.get("/me", headers=bearer(other["access_token"]))).status_code == 401
        refresh = await client.post(
            "/token/refresh", json={"refresh_token": other["refresh_token"]}
        )
        assert refresh.status_code == 401
        fresh = response.json()["access_token"]
        assert (await client.get("/me", headers=bearer(fresh))).status_code == 200
        assert (await log_in(client)).status_code == 401
        assert (await log_in(client, password="a brand new password")).status_code == 200

    async def test_refuses_a_wrong_current_password_and_changes_nothing(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/password",
            headers=ada.headers,
            json={"current_password": "not the password", "new_password": "a brand new password"},
        )

        assert response.status_code == 422
        assert "current_password" in response.text
        assert (await client.get("/me", headers=ada.headers)).status_code == 200
        assert (await log_in(client)).status_code == 200

    async def test_refuses_a_weak_new_password(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/password",
            headers=ada.headers,
            json={"current_password": DEFAULT_PASSWORD, "new_password": "short"},
        )

        assert response.status_code == 422
        assert (await log_in(client)).status_code == 200


class TestClosure:
    async def test_closes_the_account_signs_out_and_frees_the_address(
        self,
        ada: SignedInDriver,
        context: ServiceContext,
        operator_id: int,
        client: httpx.AsyncClient,
    ) -> None:
        response = await client.delete("/me", headers=ada.headers)

        assert response.status_code == 204
        assert (await client.get("/me", headers=ada.headers)).status_code == 401
        refresh = await client.post("/token/refresh", json={"refresh_token": ada.refresh_token})
        assert refresh.status_code == 401
        assert (await log_in(client)).status_code == 401
        assert await account_by_email(context, EMAIL) is None
        again = await signed_in_driver(context=context, operator_id=operator_id, email=EMAIL)
        assert again.account_id != ada.account_id
