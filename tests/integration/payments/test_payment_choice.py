"""The payment method choice on real rows (docs/payment-choice.md): what `choose_payment`
finds for each kind of token and driver, the operator's policy through the API (hostile
input refused, nothing changed), and a driver's preference through the drivers API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx

from evbilling.infra.context import ServiceContext
from evbilling.money import Money
from evbilling.payments import choice_policy
from evbilling.payments.choice import PaymentChoice, PaymentRoute, choose_payment
from evbilling.postpaid import service as postpaid
from evbilling.wallets import service as wallets
from tests.factories import create_token
from tests.integration.arrange import add_driver, add_operator

CARD = "04BEEF0001"


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


async def choose(
    context: ServiceContext, operator_id: int, *, id_tag: str | None = None,
    driver_id: int | None = None,
) -> PaymentChoice:  # fmt: skip
    async with context.unit_of_work() as db:
        return await choose_payment(
            db=db, operator_id=operator_id, id_tag=id_tag, driver_id=driver_id,
            now=context.clock.now(),
        )  # fmt: skip


async def token_driver(context: ServiceContext, operator_id: int, token_id: int) -> int:
    from evbilling.models import Token

    async with context.unit_of_work() as db:
        token = await db.get_one(Token, token_id)
        assert token.driver_id is not None
        return token.driver_id


async def prefer(context: ServiceContext, operator_id: int, driver_id: int, how: str) -> None:
    async with context.unit_of_work() as db:
        await choice_policy.set_preference(
            db=db, operator_id=operator_id, driver_id=driver_id, preference=how,
            now=context.clock.now(),
        )  # fmt: skip
        await db.commit()


async def fund(context: ServiceContext, operator_id: int, driver_id: int, amount: str) -> None:
    async with context.unit_of_work() as db:
        await wallets.credit_goodwill(
            db=db, operator_id=operator_id, driver_id=driver_id, amount=eur(amount),
            reason="welcome", actor="tests", now=context.clock.now(),
        )  # fmt: skip
        await db.commit()


async def account(context: ServiceContext, operator_id: int, *, driver_id: int) -> int:
    now = context.clock.now()
    async with context.unit_of_work() as db:
        row = await postpaid.create_account(
            db=db, operator_id=operator_id, name="Fleet", currency="EUR",
            credit_limit=eur("100"), now=now,
        )  # fmt: skip
        await postpaid.link_driver(
            db=db, operator_id=operator_id, account_id=row.id, driver_id=driver_id, now=now
        )
        await db.commit()
        return row.id


class TestChoosePayment:
    async def test_a_linked_driver_without_anything_is_owed_by_the_driver(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        token_id = await create_token(context, operator_id=operator_id, uid=CARD)
        driver_id = await token_driver(context, operator_id, token_id)

        chosen = await choose(context, operator_id, id_tag=CARD.lower())

        assert chosen == PaymentChoice(
            PaymentRoute.CARD, "no preference; no saved card: owed by the driver", driver_id,
            token_id,
        )  # fmt: skip

    async def test_a_wallet_with_a_balance_pays_and_a_postpaid_account_comes_first(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        token_id = await create_token(context, operator_id=operator_id, uid=CARD)
        driver_id = await token_driver(context, operator_id, token_id)
        await fund(context, operator_id, driver_id, "5.00")
        walleted = await choose(context, operator_id, id_tag=CARD)
        account_id = await account(context, operator_id, driver_id=driver_id)

        billed = await choose(context, operator_id, id_tag=CARD)

        assert (walleted.route, walleted.reason) == (
            PaymentRoute.WALLET,
            "no preference; wallet has a balance",
        )
        assert (billed.route, billed.account_id) == (PaymentRoute.POSTPAID, account_id)

    async def test_the_preference_wins_and_is_honoured_strictly(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        token_id = await create_token(context, operator_id=operator_id, uid=CARD)
        driver_id = await token_driver(context, operator_id, token_id)
        await account(context, operator_id, driver_id=driver_id)
        await prefer(context, operator_id, driver_id, "wallet")

        no_wallet = await choose(context, operator_id, id_tag=CARD)
        await fund(context, operator_id, driver_id, "1.00")
        wallet = await choose(context, operator_id, id_tag=CARD)

        assert (no_wallet.route, no_wallet.reason) == (
            PaymentRoute.REFUSED,
            "prefers the wallet; no wallet",
        )
        assert (wallet.route, wallet.reason) == (PaymentRoute.WALLET, "driver prefers the wallet")

    async def test_an_app_driver_is_chosen_for_without_a_token(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        await prefer(context, operator_id, driver_id, "card")

        chosen = await choose(context, operator_id, driver_id=driver_id)

        assert chosen.route is PaymentRoute.CARD
        assert (chosen.driver_id, chosen.token_id) == (driver_id, None)

    async def test_refuses_blocked_expired_unknown_and_another_operators_tokens(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        other = await add_operator(context)
        await create_token(context, operator_id=operator_id, uid="B10C", status="blocked")
        past = context.clock.now() - timedelta(days=1)
        await create_token(context, operator_id=operator_id, uid="E1E1", expires_at=past)
        await create_token(context, operator_id=other, uid="07E1")
        other_driver = await add_driver(context, other)

        reasons = [
            (await choose(context, operator_id, id_tag=tag)).reason
            for tag in ("B10C", "E1E1", "FFFF", "07E1")
        ]
        foreign = await choose(context, operator_id, driver_id=other_driver)

        assert reasons == ["token blocked", "token expired", "token unknown", "token unknown"]
        assert (foreign.route, foreign.driver_id) == (PaymentRoute.REFUSED, None)

    async def test_an_unlinked_token_follows_the_operators_policy(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        await create_token(context, operator_id=operator_id, uid=CARD, driver_name=None)
        free = await choose(context, operator_id, id_tag=CARD)
        async with context.unit_of_work() as db:
            await choice_policy.set_policy(
                db=db, operator_id=operator_id, unlinked="fixed_fee",
                fee_amount=Decimal("2.50"), fee_currency="EUR", now=context.clock.now(),
            )  # fmt: skip
            await db.commit()

        fee = await choose(context, operator_id, id_tag=CARD)

        assert free.route is PaymentRoute.FREE
        assert (fee.route, fee.fee, fee.reason) == (
            PaymentRoute.FIXED_FEE,
            eur("2.50"),
            "unlinked token; fixed fee EUR 2.50",
        )


class TestPaymentPolicyApi:
    async def test_is_free_until_changed_and_keeps_the_fee(
        self, api_client: httpx.AsyncClient
    ) -> None:
        before = await api_client.get("/operator/payment-policy")
        put = await api_client.put(
            "/operator/payment-policy",
            json={"unlinked": "fixed_fee", "fee_amount": "2.00", "fee_currency": "EUR"},
        )
        refused = await api_client.put("/operator/payment-policy", json={"unlinked": "refuse"})

        assert before.json() == {"unlinked": "free", "fee_amount": None, "fee_currency": None}
        assert put.status_code == 200, put.text
        assert put.json() == {"unlinked": "fixed_fee", "fee_amount": "2.00", "fee_currency": "EUR"}
        assert refused.json()["unlinked"] == "refuse"
        assert refused.json()["fee_amount"] == "2.00"

    async def test_refuses_hostile_policies_and_changes_nothing(
        self, api_client: httpx.AsyncClient
    ) -> None:
        bodies = [
            {"unlinked": "fixed_fee"},  # no fee
            {"unlinked": "fixed_fee", "fee_amount": "0", "fee_currency": "EUR"},
            {"unlinked": "fixed_fee", "fee_amount": "1000.01", "fee_currency": "EUR"},
            {"unlinked": "fixed_fee", "fee_amount": "2.001", "fee_currency": "EUR"},
            {"unlinked": "fixed_fee", "fee_amount": "2", "fee_currency": "eur"},
            {"unlinked": "fixed_fee", "fee_amount": "2", "fee_currency": "EU\u0000"},
            {"unlinked": "fixed_fee", "fee_amount": "2"},
            {"unlinked": "sometimes"},
            {"unlinked": "free", "extra": 1},
        ]

        answers = [await api_client.put("/operator/payment-policy", json=b) for b in bodies]
        after = await api_client.get("/operator/payment-policy")

        assert [a.status_code for a in answers] == [422] * len(bodies)
        assert all(a.headers["content-type"].startswith("application/problem+json")
                   for a in answers)  # fmt: skip
        assert after.json() == {"unlinked": "free", "fee_amount": None, "fee_currency": None}

    async def test_is_each_operators_own(
        self, api_client: httpx.AsyncClient, other_client: httpx.AsyncClient
    ) -> None:
        await api_client.put("/operator/payment-policy", json={"unlinked": "refuse"})

        theirs = await other_client.get("/operator/payment-policy")

        assert theirs.json()["unlinked"] == "free"


class TestDriverPreferenceApi:
    async def test_sets_and_clears_the_preference(
        self, context: ServiceContext, operator_id: int, api_client: httpx.AsyncClient
    ) -> None:
        driver_id = await add_driver(context, operator_id)

        wallet = await api_client.patch(
            f"/drivers/{driver_id}", json={"payment_preference": "wallet"}
        )
        bad = await api_client.patch(f"/drivers/{driver_id}", json={"payment_preference": "cash"})
        kept = await api_client.get(f"/drivers/{driver_id}")
        cleared = await api_client.patch(f"/drivers/{driver_id}", json={"payment_preference": None})

        assert wallet.json()["payment_preference"] == "wallet"
        assert bad.status_code == 422
        assert kept.json()["payment_preference"] == "wallet"
        assert cleared.json()["payment_preference"] is None

    async def test_another_operators_driver_is_not_found(
        self, context: ServiceContext, operator_id: int, other_client: httpx.AsyncClient
    ) -> None:
        driver_id = await add_driver(context, operator_id)

        answer = await other_client.patch(
            f"/drivers/{driver_id}", json={"payment_preference": "card"}
        )

        assert answer.status_code == 404
        assert "payment_preference" not in answer.text
        async with context.unit_of_work() as db:
            assert (
                await choice_policy.get_preference(
                    db=db, operator_id=operator_id, driver_id=driver_id
                )
                is None
            )
