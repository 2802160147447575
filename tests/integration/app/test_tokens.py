"""Log-in, refresh rotation with reuse detection, log-out, password change, expiry and
closure: which tokens work when."""

from __future__ import annotations

import httpx
import pytest

from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.ledger.domain import AccountRef
from evbilling.ledger.service import account_balance
from evbilling.money import Money
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import WalletStatus
from tests.app_support import DEFAULT_PASSWORD, SignedInDriver, signed_in_driver
from tests.integration.app.mails import account_by_email
from tests.integration.arrange import add_station

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

    async def test_refuses_wrong_credentials_without_saying_which(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        for email, password in [
            (EMAIL, "wrong password!"),
            ("nobody@example.com", DEFAULT_PASSWORD),
            ("not an address", DEFAULT_PASSWORD),
            (EMAIL, "é" * 1000),
        ]:
            response = await log_in(client, email=email, password=password)

            assert response.status_code == 401, email
            assert response.json()["detail"] == "wrong e-mail address or password"

    async def test_refuses_oversized_or_unstorable_fields(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        for email, password in [
            (EMAIL, "x" * 5000),
            ("a" * 400 + "@example.com", DEFAULT_PASSWORD),
            (EMAIL, DEFAULT_PASSWORD + "\x00"),
            (EMAIL + "\x00", DEFAULT_PASSWORD),
        ]:
            response = await log_in(client, email=email, password=password)

            assert response.status_code == 422, email

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
    async def test_refuses_bad_tokens(self, ada: SignedInDriver, client: httpx.AsyncClient) -> None:
        for header in [
            b"Bearer",
            b"Basic abc",
            b"Bearer evba_made-up",
            b"Bearer evbr_made-up",
            b"Bearer evb_0123456789ab_notakey",
            b"Bearer evba_" + b"x" * 200,
            "Bearer evba_ünicode".encode("latin-1"),
            b"Bearer evba_\x7f\x01",
        ]:
            response = await client.get("/me", headers={b"Authorization": header})

            assert response.status_code == 401, header
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

    async def test_refuses_made_up_refresh_tokens(
        self, ada: SignedInDriver, client: httpx.AsyncClient
    ) -> None:
        for token in ["", "evbr_nope", "evba_nope", "x" * 200, "evbr_\x00"]:
            response = await client.post("/token/refresh", json={"refresh_token": token})

            assert response.status_code in (401, 422), token
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


class TestClosureWithAWallet:
    async def test_takes_the_unused_balance_out_of_the_wallet_before_closing(
        self,
        ada: SignedInDriver,
        context: ServiceContext,
        operator_id: int,
        client: httpx.AsyncClient,
    ) -> None:
        await _goodwill(context, operator_id, ada.driver_id, "12.50")

        response = await client.delete("/me", headers=ada.headers)

        assert response.status_code == 204
        async with context.unit_of_work() as db:
            wallet = await wallets.get_wallet(
                db=db, operator_id=operator_id, driver_id=ada.driver_id
            )
            owed = await account_balance(
                db=db, account=AccountRef.refunds_payable(operator_id=operator_id, currency="EUR")
            )
        assert wallet is not None
        assert wallet.status is WalletStatus.CLOSED
        assert wallet.available == Money.of("0", "EUR")
        # No card to return goodwill to: the operator owes it as a payout.
        assert owed.balance_minor == -1250
        assert await account_by_email(context, EMAIL) is None

    async def test_refuses_while_a_session_holds_money_of_the_wallet_and_keeps_the_account(
        self,
        ada: SignedInDriver,
        context: ServiceContext,
        operator_id: int,
        client: httpx.AsyncClient,
    ) -> None:
        await _goodwill(context, operator_id, ada.driver_id, "20")
        station_id = (await add_station(context, operator_id)).station.id
        async with context.unit_of_work() as db:
            reserved = await wallets.reserve_for_session(
                db=db,
                operator_id=operator_id,
                driver_id=ada.driver_id,
                station_id=station_id,
                wanted=Money.of("15", "EUR"),
                margin=Money.of("1", "EUR"),
                now=context.clock.now(),
            )
            await db.commit()
        assert reserved is not None

        response = await client.delete("/me", headers=ada.headers)

        assert response.status_code == 409
        assert (await client.get("/me", headers=ada.headers)).status_code == 200
        async with context.unit_of_work() as db:
            wallet = await wallets.get_wallet(
                db=db, operator_id=operator_id, driver_id=ada.driver_id
            )
        assert wallet is not None
        assert wallet.status is WalletStatus.OPEN
        assert wallet.reserved == Money.of("15", "EUR")


async def _goodwill(context: ServiceContext, operator_id: int, driver_id: int, amount: str) -> None:
    async with context.unit_of_work() as db:
        await wallets.credit_goodwill(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            amount=Money.of(amount, "EUR"),
            reason="welcome credit",
            actor="tests",
            now=context.clock.now(),
        )
        await db.commit()
