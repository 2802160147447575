"""The driver's payment preference in the app: their own only, hostile values refused with
nothing changed, and the choice at Authorize follows it."""

from __future__ import annotations

from evbilling.infra.context import ServiceContext
from evbilling.payments.choice import PaymentRoute, choose_payment
from tests.app_support import app_api, app_client, signed_in_driver

PATH = "/me/payment-preference"


class TestAppPaymentPreference:
    async def test_sets_reads_and_clears_the_drivers_own_preference(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        ada = await signed_in_driver(context=context, operator_id=operator_id, email="a@x.example")
        bob = await signed_in_driver(context=context, operator_id=operator_id, email="b@x.example")
        async with app_client(app_api(context=context)) as client:
            before = await client.get(PATH, headers=ada.headers)
            put = await client.put(PATH, json={"preference": "postpaid"}, headers=ada.headers)
            read = await client.get(PATH, headers=ada.headers)
            others = await client.get(PATH, headers=bob.headers)
            cleared = await client.put(PATH, json={"preference": None}, headers=ada.headers)
        async with context.unit_of_work() as db:
            chosen = await choose_payment(
                db=db, operator_id=operator_id, driver_id=bob.driver_id, now=context.clock.now()
            )

        assert before.json() == {"preference": None}
        assert (put.status_code, read.json()) == (200, {"preference": "postpaid"})
        assert others.json() == {"preference": None}
        assert cleared.json() == {"preference": None}
        assert chosen.route is PaymentRoute.CARD

    async def test_refuses_hostile_values_and_anonymous_callers(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        ada = await signed_in_driver(context=context, operator_id=operator_id, email="a@x.example")
        bodies = [{"preference": "cash"}, {"preference": "wa\u0000llet"}, {}, {"preference": 7},
                  {"preference": "card", "driver_id": 99}]  # fmt: skip
        async with app_client(app_api(context=context)) as client:
            await client.put(PATH, json={"preference": "wallet"}, headers=ada.headers)
            answers = [await client.put(PATH, json=b, headers=ada.headers) for b in bodies]
            anonymous = await client.put(PATH, json={"preference": "card"})
            after = await client.get(PATH, headers=ada.headers)

        assert [a.status_code for a in answers] == [422] * len(bodies)
        assert anonymous.status_code == 401
        assert after.json() == {"preference": "wallet"}
