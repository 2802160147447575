"""The ledger's read API: an operator sees its own accounts and its drivers', with balances
and lines page by page; shared PSP accounts and other operators' accounts are 404."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from evbilling.infra.context import ServiceContext
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, Line, build_entry
from tests.integration.arrange import add_driver


async def _book(context: ServiceContext, *, operator_id: int, driver_id: int, count: int) -> None:
    """`count` sales booked for the driver at the operator, and one hold per sale."""
    receivable = AccountRef.driver_receivable(driver_id=driver_id, currency="EUR")
    revenue = AccountRef.revenue(operator_id=operator_id, location_id=3, currency="EUR")
    vat = AccountRef.vat_payable(operator_id=operator_id, rate=Decimal("19"), currency="EUR")
    clearing = AccountRef.psp_clearing(provider="sandbox", currency="EUR")
    async with context.unit_of_work() as db:
        for number in range(count):
            await ledger.post_entry(
                db=db,
                draft=build_entry(
                    reference=f"sale:{operator_id}:{number}",
                    description="session",
                    lines=(Line(receivable, 119), Line(revenue, -100), Line(vat, -19)),
                ),
                now=context.clock.now(),
            )
        await ledger.open_pending(
            db=db,
            reference=f"hold:{operator_id}",
            debit=clearing,
            credit=receivable,
            amount_minor=5000,
            now=context.clock.now(),
        )
        await db.commit()


async def _accounts(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await client.get("/ledger/accounts")
    assert response.status_code == 200, response.text
    return {item["account"]["kind"]: item for item in response.json()["items"]}


class TestLedgerAccounts:
    async def test_lists_the_operators_accounts_with_balances(
        self, api_client: httpx.AsyncClient, context: ServiceContext, operator_id: int
    ) -> None:
        # Arrange
        driver_id = await add_driver(context, operator_id)
        await _book(context, operator_id=operator_id, driver_id=driver_id, count=3)

        # Act
        accounts = await _accounts(api_client)

        # Assert: the PSP clearing account is shared infrastructure, not shown
        assert set(accounts) == {"driver_receivable", "revenue", "vat_payable"}
        receivable = accounts["driver_receivable"]
        assert receivable["account"] == {
            "kind": "driver_receivable",
            "currency": "EUR",
            "scope": f"driver:{driver_id}",
        }
        assert (receivable["balance_minor"], receivable["credits_pending"]) == (357, 5000)
        assert accounts["revenue"]["balance_minor"] == -300
        assert accounts["vat_payable"]["account"]["scope"] == f"operator:{operator_id}/rate:19"

    async def test_filters_by_kind_and_pages_by_keyset(
        self, api_client: httpx.AsyncClient, context: ServiceContext, operator_id: int
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        await _book(context, operator_id=operator_id, driver_id=driver_id, count=1)

        first = (await api_client.get("/ledger/accounts", params={"limit": 2})).json()
        second = (
            await api_client.get(
                "/ledger/accounts", params={"limit": 2, "after": first["next_after"]}
            )
        ).json()
        revenue = (await api_client.get("/ledger/accounts", params={"kind": "revenue"})).json()

        assert len(first["items"]) == 2
        assert first["next_after"] == first["items"][-1]["account_id"]
        assert len(second["items"]) == 1
        assert second["next_after"] is None
        assert [item["account"]["kind"] for item in revenue["items"]] == ["revenue"]

    async def test_shows_an_account_and_its_lines_newest_first(
        self, api_client: httpx.AsyncClient, context: ServiceContext, operator_id: int
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        await _book(context, operator_id=operator_id, driver_id=driver_id, count=3)
        account_id = (await _accounts(api_client))["driver_receivable"]["account_id"]

        shown = await api_client.get(f"/ledger/accounts/{account_id}")
        page = await api_client.get(f"/ledger/accounts/{account_id}/entries", params={"limit": 3})
        rest = await api_client.get(
            f"/ledger/accounts/{account_id}/entries",
            params={"after": page.json()["next_after"]},
        )

        assert shown.json()["balance_minor"] == 357
        lines = page.json()["items"]
        assert [(line["entry_kind"], line["amount_minor"]) for line in lines] == [
            ("pending", -5000),
            ("transfer", 119),
            ("transfer", 119),
        ]
        assert lines[1]["reference"] == f"sale:{operator_id}:2"
        assert [line["reference"] for line in rest.json()["items"]] == [f"sale:{operator_id}:0"]
        assert rest.json()["next_after"] is None

    async def test_another_operators_accounts_are_not_found(
        self,
        api_client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        context: ServiceContext,
        operator_id: int,
    ) -> None:
        # Arrange
        driver_id = await add_driver(context, operator_id)
        await _book(context, operator_id=operator_id, driver_id=driver_id, count=1)
        mine = await _accounts(api_client)

        # Act / Assert
        assert (await other_client.get("/ledger/accounts")).json()["items"] == []
        for item in mine.values():
            account_id = item["account_id"]
            for path in (
                f"/ledger/accounts/{account_id}",
                f"/ledger/accounts/{account_id}/entries",
            ):
                response = await other_client.get(path)
                assert response.status_code == 404, path
                assert response.json()["title"] == "Not found"

    async def test_the_shared_psp_account_is_not_found_for_any_operator(
        self, api_client: httpx.AsyncClient, context: ServiceContext, operator_id: int
    ) -> None:
        driver_id = await add_driver(context, operator_id)
        await _book(context, operator_id=operator_id, driver_id=driver_id, count=1)
        async with context.unit_of_work() as db:
            clearing = await ledger.account_balance(
                db=db, account=AccountRef.psp_clearing(provider="sandbox", currency="EUR")
            )

        response = await api_client.get(f"/ledger/accounts/{clearing.account_id}")

        assert clearing.debits_pending == 5000
        assert response.status_code == 404

    async def test_refuses_bad_parameters_and_unknown_keys(
        self, api_client: httpx.AsyncClient
    ) -> None:
        assert (await api_client.get("/ledger/accounts", params={"limit": 0})).status_code == 422
        assert (await api_client.get("/ledger/accounts", params={"kind": "x"})).status_code == 422
        assert (
            await api_client.get("/ledger/accounts", params={"currency": "eur"})
        ).status_code == 422
        assert (await api_client.get("/ledger/accounts/0")).status_code == 422
        assert (await api_client.get("/ledger/accounts/99")).status_code == 404
        anonymous = await api_client.get("/ledger/accounts", headers={"Authorization": ""})
        assert anonymous.status_code == 401
