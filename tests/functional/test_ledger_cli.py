"""`evbilling ledger ...` against a migrated SQLite file: the trial balance, every account
(shared PSP accounts included: the CLI is for staff) and an account's lines."""

from __future__ import annotations

import asyncio
from pathlib import Path

from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, Line, build_entry
from tests.conftest import START
from tests.functional.cli_calls import invoke, invoke_json

RECEIVABLE = AccountRef.driver_receivable(driver_id=1, currency="EUR")
CLEARING = AccountRef.psp_clearing(provider="sandbox", currency="EUR")
REVENUE = AccountRef.revenue(operator_id=1, location_id=None, currency="EUR")


def _book(path: Path, *, sales: int) -> None:
    async def run() -> None:
        engine = create_engine(url=f"sqlite+aiosqlite:///{path}")
        async with create_session_factory(engine)() as db:
            for number in range(sales):
                await ledger.post_entry(
                    db=db,
                    draft=build_entry(
                        reference=f"sale:{number}",
                        description="session",
                        lines=(Line(RECEIVABLE, 1190), Line(REVENUE, -1190)),
                    ),
                    now=START,
                )
            hold = await ledger.open_pending(
                db=db,
                reference="hold:1",
                debit=CLEARING,
                credit=RECEIVABLE,
                amount_minor=5000,
                now=START,
            )
            await ledger.post_pending(
                db=db, pending_id=hold.id, amount_minor=1190, reference="capture:1", now=START
            )
            await db.commit()
        await engine.dispose()

    asyncio.run(run())


class TestLedgerCli:
    def test_the_trial_balance_is_zero(self, cli_database: Path) -> None:
        _book(cli_database, sales=2)

        rows = invoke_json("ledger", "trial-balance")
        text = invoke("ledger", "trial-balance")

        assert rows == [
            {
                "currency": "EUR",
                "debits": 3570,
                "credits": 3570,
                "difference": 0,
                "debits_pending": 0,
                "credits_pending": 0,
            }
        ]
        assert text.exit_code == 0
        assert "35.70 EUR" in text.stdout
        assert "OUT OF BALANCE" not in text.stdout

    def test_an_empty_ledger_says_so(self, cli_database: Path) -> None:
        assert invoke_json("ledger", "trial-balance") == []
        assert "empty" in invoke("ledger", "trial-balance").stdout

    def test_lists_every_account_with_its_balance(self, cli_database: Path) -> None:
        _book(cli_database, sales=1)

        page = invoke_json("ledger", "accounts")
        clearing = invoke_json("ledger", "accounts", "--kind", "psp_clearing")

        assert [(i["account"]["kind"], i["balance_minor"]) for i in page["items"]] == [
            ("driver_receivable", 0),
            ("revenue", -1190),
            ("psp_clearing", 1190),
        ]
        assert [i["account"]["scope"] for i in clearing["items"]] == ["psp:sandbox"]

    def test_shows_an_account_with_its_lines_page_by_page(self, cli_database: Path) -> None:
        _book(cli_database, sales=3)

        shown = invoke_json("ledger", "account", "1", "--limit", "2")
        rest = invoke_json("ledger", "account", "1", "--after", str(shown["lines"]["next_after"]))
        text = invoke("ledger", "account", "1", "--limit", "2")

        assert shown["account"]["balance_minor"] == 3 * 1190 - 1190
        assert [line["reference"] for line in shown["lines"]["items"]] == [
            "capture:1",
            "hold:1",
        ]
        assert [line["reference"] for line in rest["lines"]["items"]] == [
            "sale:2",
            "sale:1",
            "sale:0",
        ]
        assert "more: --after" in text.stdout
        assert "23.80 EUR" in text.stdout

    def test_an_unknown_account_is_an_error(self, cli_database: Path) -> None:
        result = invoke("ledger", "account", "42")

        assert result.exit_code == 1
        assert "ledger account 42 not found" in result.output
