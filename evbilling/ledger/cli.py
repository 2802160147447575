"""`evbilling ledger ...`: the trial balance, accounts and an account's lines, for staff.

Commands read the whole ledger (every operator's accounts and the shared PSP accounts), one
read-only unit of work each; `--json` prints machine output. Amounts are shown in minor
units and in the currency's units.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.cli import JsonOption, emit, run_unscoped_command, table
from evbilling.infra.context import ServiceContext
from evbilling.infra.validation import MAX_PAGE_LIMIT
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountKind
from evbilling.ledger.schemas import (
    AccountLinePage,
    AccountLineRead,
    AccountPage,
    AccountRead,
    TrialBalanceRead,
)
from evbilling.money import Money

ledger_app = typer.Typer(help="The double-entry ledger: balances and lines.", no_args_is_help=True)

LimitOption = Annotated[int, typer.Option(min=1, max=MAX_PAGE_LIMIT, help="Page size.")]
AfterOption = Annotated[
    int | None, typer.Option(min=1, help="The next_after of the previous page.")
]


def register(root: typer.Typer) -> None:
    root.add_typer(ledger_app, name="ledger")


def _units(minor: int, currency: str) -> str:
    return str(Money.from_minor_units(minor, currency))


def _trial_text(rows: list[TrialBalanceRead]) -> str:
    if not rows:
        return "the ledger is empty"
    cells = [
        {
            "currency": row.currency,
            "debits": _units(row.debits, row.currency),
            "credits": _units(row.credits, row.currency),
            "difference": _units(row.difference, row.currency),
            "held": _units(row.debits_pending, row.currency),
        }
        for row in rows
    ]
    text = table(cells, columns=["currency", "debits", "credits", "difference", "held"])
    if any(row.difference for row in rows):
        text += "\nOUT OF BALANCE"
    return text


@ledger_app.command("trial-balance")
def trial_balance(as_json: bool = JsonOption) -> None:
    """Posted debits and credits per currency (their difference is always 0), and holds."""

    async def work(db: AsyncSession, context: ServiceContext) -> Any:
        return await ledger.trial_balance(db=db)

    rows = [TrialBalanceRead.model_validate(row) for row in run_unscoped_command(work)]
    emit(rows, as_json=as_json, text=_trial_text)


def _account_row(account: AccountRead) -> dict[str, Any]:
    currency = account.account.currency
    return {
        "id": account.account_id,
        "kind": account.account.kind.value,
        "currency": currency,
        "scope": account.account.scope,
        "balance": _units(account.balance_minor, currency),
        "pending": _units(account.debits_pending - account.credits_pending, currency),
    }


def _more(next_after: int | None) -> str:
    return "" if next_after is None else f"\nmore: --after {next_after}"


@ledger_app.command("accounts")
def accounts(
    kind: Annotated[AccountKind | None, typer.Option(help="Only accounts of this kind.")] = None,
    currency: Annotated[str | None, typer.Option(help="Only this ISO 4217 currency.")] = None,
    limit: LimitOption = 50,
    after: AfterOption = None,
    as_json: bool = JsonOption,
) -> None:
    """Every ledger account with its balance, in id order."""

    async def work(db: AsyncSession, context: ServiceContext) -> Any:
        page = await ledger.list_accounts(
            db=db, operator_id=None, kind=kind, currency=currency, limit=limit, after=after
        )
        return AccountPage.model_validate(
            {"items": page.rows, "limit": page.limit, "next_after": page.next_after}
        )

    page: AccountPage = run_unscoped_command(work)

    def text(page: AccountPage) -> str:
        rows = [_account_row(item) for item in page.items]
        columns = ["id", "kind", "currency", "scope", "balance", "pending"]
        return table(rows, columns=columns) + _more(page.next_after)

    emit(page, as_json=as_json, text=text)


def _line_row(line: AccountLineRead) -> dict[str, Any]:
    return {
        "line": line.id,
        "entry": line.entry_id,
        "kind": line.entry_kind.value,
        "reference": line.reference,
        "amount": _units(line.amount_minor, line.currency),
        "at": line.created_at,
    }


@ledger_app.command("account")
def account(
    account_id: int,
    limit: LimitOption = 50,
    after: AfterOption = None,
    as_json: bool = JsonOption,
) -> None:
    """An account's balances and its lines, newest first (page with --after)."""

    async def work(db: AsyncSession, context: ServiceContext) -> Any:
        found = await ledger.get_account(db=db, operator_id=None, account_id=account_id)
        lines = await ledger.list_account_lines(
            db=db, operator_id=None, account_id=account_id, limit=limit, after=after
        )
        return {
            "account": AccountRead.model_validate(found),
            "lines": AccountLinePage.model_validate(
                {"items": lines.rows, "limit": lines.limit, "next_after": lines.next_after}
            ),
        }

    shown: dict[str, Any] = run_unscoped_command(work)

    def text(shown: dict[str, Any]) -> str:
        read: AccountRead = shown["account"]
        lines: AccountLinePage = shown["lines"]
        currency = read.account.currency
        head = "\n".join(
            [
                f"account   {read.account_id}  {read.account.kind.value} {currency} "
                f"{read.account.scope}",
                f"balance   {_units(read.balance_minor, currency)}",
                f"posted    debits {_units(read.debits_posted, currency)}  "
                f"credits {_units(read.credits_posted, currency)}",
                f"pending   debits {_units(read.debits_pending, currency)}  "
                f"credits {_units(read.credits_pending, currency)}",
            ]
        )
        rows = [_line_row(line) for line in lines.items]
        body = table(rows, columns=["line", "entry", "kind", "reference", "amount", "at"])
        return f"{head}\n\n{body}{_more(lines.next_after)}"

    emit(shown, as_json=as_json, text=text)
