"""The operator API of postpaid accounts: accounts, links, statements, bank transfers;
hostile input changes nothing; another operator's ids answer 404 and change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from evbilling.access.service import create_api_key
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.main import create_api
from evbilling.models import Driver, Token
from tests.factories import create_token
from tests.integration.arrange import add_driver
from tests.integration.postpaid.support import accrue, charged_session, postpaid_site

BASE = "/postpaid-accounts"
VALID = {"name": "Taxi fleet", "currency": "EUR", "credit_limit": "5000.00"}


@pytest.fixture
async def payments_client(
    context: ServiceContext, operator_id: int
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a key holding the `payments` scope (bank transfers move money)."""
    async with context.unit_of_work() as db:
        issued = await create_api_key(
            db=db,
            operator_id=operator_id,
            name="accounting",
            now=context.clock.now(),
            hasher=context.api_keys,
            scopes=["payments"],
        )
        await db.commit()
    root = FastAPI()
    root.mount("/api/v1", create_api(context=context))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=root),
        base_url="http://testserver/api/v1",
        headers={"Authorization": f"Bearer {issued.key}"},
    ) as client:
        yield client


async def create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post(BASE, json=VALID | changes)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def accounts_of(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get(BASE)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestAccounts:
    async def test_creates_reads_and_changes_an_account(
        self, api_client: httpx.AsyncClient
    ) -> None:
        created = await create(api_client, billing_email="billing@example.com")

        assert created["credit_limit_minor"] == 500_000
        assert created["status"] == "active"
        assert (created["outstanding_minor"], created["available_minor"]) == (0, 500_000)
        changed = await api_client.patch(
            f"{BASE}/{created['id']}", json={"credit_limit": "250.50", "status": "suspended"}
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["credit_limit_minor"], changed.json()["status"]) == (
            25_050,
            "suspended",
        )
        shown = await api_client.get(f"{BASE}/{created['id']}")
        assert shown.json()["credit_limit_minor"] == 25_050

    async def test_refuses_hostile_input_and_creates_nothing(
        self, api_client: httpx.AsyncClient
    ) -> None:
        hostile = [
            (VALID | {"credit_limit": "10000000.01"}, "credit_limit"),
            (VALID | {"credit_limit": "-1"}, "credit_limit"),
            (VALID | {"credit_limit": "1.001"}, "credit_limit"),
            (VALID | {"credit_limit": "NaN"}, "credit_limit"),
            (VALID | {"name": "Fleet\x00"}, "name"),
            (VALID | {"name": "x" * 201}, "name"),
            (VALID | {"currency": "EURO"}, "currency"),
            (VALID | {"currency": "eur"}, "currency"),
            (VALID | {"payer_driver_id": 2**63}, "payer_driver_id"),
            (VALID | {"billing_email": "not an address"}, "billing_email"),
            (VALID | {"owner": 1}, "owner"),
        ]
        for body, field in hostile:
            response = await api_client.post(BASE, json=body)

            assert response.status_code == 422, (body, response.text)
            assert field in response.text
        assert await accounts_of(api_client) == []

    async def test_refuses_a_hostile_update_and_changes_nothing(
        self, api_client: httpx.AsyncClient
    ) -> None:
        created = await create(api_client)

        for body in ({"credit_limit": "1e30"}, {"status": "deleted"}, {"credit_limit": None}):
            response = await api_client.patch(f"{BASE}/{created['id']}", json=body)
            assert response.status_code == 422, response.text

        shown = await api_client.get(f"{BASE}/{created['id']}")
        assert shown.json() == created
        assert (await api_client.get(f"{BASE}/{2**63}")).status_code == 422

    async def test_another_operators_payer_is_not_found(
        self, api_client: httpx.AsyncClient, context: ServiceContext
    ) -> None:
        from tests.integration.arrange import add_operator

        other = await add_operator(context)
        stranger = await add_driver(context, other)

        response = await api_client.post(BASE, json=VALID | {"payer_driver_id": stranger})

        assert response.status_code == 404
        assert await accounts_of(api_client) == []


class TestIsolation:
    async def test_another_operator_sees_and_changes_nothing(
        self,
        api_client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        context: ServiceContext,
        operator_id: int,
    ) -> None:
        created = await create(api_client)
        driver_id = await add_driver(context, operator_id)
        path = f"{BASE}/{created['id']}"

        attempts = [
            other_client.get(path),
            other_client.patch(path, json={"credit_limit": "1.00"}),
            other_client.put(f"{path}/drivers/{driver_id}"),
            other_client.get(f"{path}/statements"),
            other_client.get(f"{path}/statement-preview"),
            other_client.post(f"{path}/statements", json={"period": "2025-12"}),
            other_client.get(f"{path}/payments"),
        ]
        for attempt in attempts:
            response = await attempt
            assert response.status_code == 404, response.text
            assert "Taxi fleet" not in response.text

        assert await accounts_of(other_client) == []
        assert (await api_client.get(path)).json() == created
        async with context.unit_of_work() as db:
            assert (await db.get_one(Driver, driver_id)).postpaid_account_id is None

    async def test_links_only_the_operators_own_drivers_and_tokens(
        self, api_client: httpx.AsyncClient, context: ServiceContext, operator_id: int
    ) -> None:
        from tests.integration.arrange import add_operator

        created = await create(api_client)
        other = await add_operator(context)
        stranger = await add_driver(context, other)
        strange_token = await create_token(context, operator_id=other, uid="0A0B0C0D")
        own_token = await create_token(context, operator_id=operator_id, uid="01020304")
        path = f"{BASE}/{created['id']}"

        assert (await api_client.put(f"{path}/drivers/{stranger}")).status_code == 404
        assert (await api_client.put(f"{path}/tokens/{strange_token}")).status_code == 404
        assert (await api_client.put(f"{path}/tokens/{own_token}")).status_code == 204

        async with context.unit_of_work() as db:
            assert (await db.get_one(Driver, stranger)).postpaid_account_id is None
            assert (await db.get_one(Token, strange_token)).postpaid_account_id is None
            assert (await db.get_one(Token, own_token)).postpaid_account_id == created["id"]
        assert (await api_client.delete(f"{path}/tokens/{own_token}")).status_code == 204
        assert (await api_client.delete(f"{path}/tokens/{own_token}")).status_code == 404


class TestStatementsAndPayments:
    async def test_a_statement_is_read_and_paid_by_bank_transfer(
        self,
        api_client: httpx.AsyncClient,
        payments_client: httpx.AsyncClient,
        context: ServiceContext,
        clock: FixedClock,
        operator_id: int,
    ) -> None:
        clock.current = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)
        site = await postpaid_site(context, operator_id)
        await accrue(context, await charged_session(context, site, wh=10_000, minutes=40))
        clock.current = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
        path = f"{BASE}/{site.account_id}"
        issued = await api_client.post(f"{path}/statements", json={"period": "2026-10"})
        assert issued.status_code == 200, issued.text
        statement = issued.json()
        assert (statement["total_minor"], statement["due_minor"]) == (464, 464)
        assert len(statement["lines"]) == 1

        refused = await api_client.post(
            f"{path}/statements/{statement['id']}/payments",
            json={"amount": "4.64", "reference": "SEPA-1"},
        )
        assert refused.status_code == 403  # marking money received needs the payments scope
        paid = await payments_client.post(
            f"{path}/statements/{statement['id']}/payments",
            json={"amount": "5.00", "reference": "SEPA-1"},
        )
        assert paid.status_code == 201, paid.text
        again = await payments_client.post(
            f"{path}/payments", json={"amount": "5.00", "reference": "SEPA-1"}
        )
        assert again.status_code == 409

        shown = (await api_client.get(f"{path}/statements/{statement['id']}")).json()
        assert (shown["paid_minor"], shown["due_minor"]) == (500, 0)
        account = (await api_client.get(path)).json()
        assert account["outstanding_minor"] == -36  # the overpayment is credit
        listed = (await api_client.get(f"{path}/statements")).json()
        assert [item["id"] for item in listed["items"]] == [statement["id"]]
        ledger_accounts = await api_client.get("/ledger/accounts?kind=postpaid_receivable")
        assert [item["balance_minor"] for item in ledger_accounts.json()["items"]] == [-36]

    async def test_the_running_month_is_previewed_and_nothing_is_issued(
        self,
        api_client: httpx.AsyncClient,
        context: ServiceContext,
        clock: FixedClock,
        operator_id: int,
    ) -> None:
        clock.current = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)
        site = await postpaid_site(context, operator_id)
        session_id = await charged_session(context, site, wh=10_000, minutes=40)
        await accrue(context, session_id)
        clock.current = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
        path = f"{BASE}/{site.account_id}"

        response = await api_client.get(f"{path}/statement-preview")

        assert response.status_code == 200, response.text
        preview = response.json()
        assert (preview["period_start"], preview["as_of"]) == (
            "2026-10-01T00:00:00Z",
            "2026-10-20T12:00:00Z",
        )
        assert [line["session_id"] for line in preview["lines"]] == [session_id]
        assert (preview["total_minor"], preview["closing_balance_minor"]) == (464, 464)
        assert (await api_client.get(f"{path}/statements")).json()["items"] == []

    async def test_another_operator_does_not_see_the_receivable(
        self,
        api_client: httpx.AsyncClient,
        other_client: httpx.AsyncClient,
        context: ServiceContext,
        operator_id: int,
    ) -> None:
        site = await postpaid_site(context, operator_id)
        await accrue(context, await charged_session(context, site, wh=10_000, minutes=40))

        own = (await api_client.get("/ledger/accounts?kind=postpaid_receivable")).json()
        theirs = (await other_client.get("/ledger/accounts?kind=postpaid_receivable")).json()

        assert [item["account"]["scope"] for item in own["items"]] == [f"account:{site.account_id}"]
        assert theirs["items"] == []
        found = await other_client.get(f"/ledger/accounts/{own['items'][0]['account_id']}")
        assert found.status_code == 404

    async def test_refuses_a_hostile_payment_and_books_nothing(
        self, payments_client: httpx.AsyncClient, context: ServiceContext, operator_id: int
    ) -> None:
        site = await postpaid_site(context, operator_id)
        hostile = [
            {"amount": "0", "reference": "R"},
            {"amount": "-5", "reference": "R"},
            {"amount": "0.001", "reference": "R"},
            {"amount": "99999999999", "reference": "R"},
            {"amount": "5", "reference": ""},
            {"amount": "5", "reference": "R\x00"},
            {"amount": "5", "reference": "R" * 121},
        ]
        for body in hostile:
            response = await payments_client.post(f"{BASE}/{site.account_id}/payments", json=body)

            assert response.status_code == 422, (body, response.text)
        listed = (await payments_client.get(f"{BASE}/{site.account_id}/payments")).json()
        assert listed["items"] == []
        account = (await payments_client.get(f"{BASE}/{site.account_id}")).json()
        assert account["outstanding_minor"] == 0
