"""`evbilling postpaid ...`: postpaid accounts from the command line, for the installation's
operator, one service call in one committed transaction each; `--json` prints what the API
returns.

    evbilling postpaid create --name "Taxi fleet" --currency EUR --limit 5000.00
    evbilling postpaid list | show ACCOUNT
    evbilling postpaid link-driver ACCOUNT DRIVER [--unlink]
    evbilling postpaid link-token ACCOUNT TOKEN [--unlink]
    evbilling postpaid preview ACCOUNT
    evbilling postpaid statement ACCOUNT --period 2026-11
    evbilling postpaid mark-paid ACCOUNT --amount 119.00 --reference BANK-REF [--statement ID]
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers.domain import Email
from evbilling.infra.cli import (
    JsonOption,
    LimitOption,
    OffsetOption,
    emit_page,
    emit_read,
    parsed_as,
    run_command,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.repository import PageRequest
from evbilling.postpaid import received, service, statements
from evbilling.postpaid.domain import month_period
from evbilling.postpaid.schemas import (
    AccountList,
    AccountRead,
    PaymentRead,
    statement_preview_read,
    statement_read,
)

postpaid_app = typer.Typer(
    help="Postpaid accounts of businesses and fleets: credit limits, statements, payments.",
    no_args_is_help=True,
)
_COLUMNS = ["id", "name", "currency", "credit_limit_minor", "status", "outstanding_minor"]


def register(root: typer.Typer) -> None:
    root.add_typer(postpaid_app, name="postpaid")


@postpaid_app.command("create")
def create(
    name: Annotated[str, typer.Option()],
    currency: Annotated[str, typer.Option()],
    limit: Annotated[str, typer.Option("--limit", help="Credit limit, e.g. 5000.00.")],
    payer: Annotated[int | None, typer.Option("--payer", help="Payer driver id.")] = None,
    email: Annotated[
        str | None, typer.Option("--email", parser=parsed_as(Email), help="Billing e-mail.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Create a postpaid account."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        row = await service.create_account(
            db=db,
            operator_id=operator_id,
            name=name,
            currency=currency,
            credit_limit=limit,
            payer_driver_id=payer,
            billing_email=email,
            now=context.clock.now(),
        )
        return await service.view_of(db=db, row=row, now=context.clock.now())

    emit_read(AccountRead.model_validate(run_command(work)), as_json=as_json)


@postpaid_app.command("list")
def list_accounts(
    limit: LimitOption = 50, offset: OffsetOption = 0, as_json: bool = JsonOption
) -> None:
    """List postpaid accounts."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await service.list_accounts(
            db=db,
            operator_id=operator_id,
            page=PageRequest(limit=limit, offset=offset),
            now=context.clock.now(),
        )

    emit_page(AccountList.model_validate(run_command(work)), as_json=as_json, columns=_COLUMNS)


@postpaid_app.command("show")
def show(account_id: int, as_json: bool = JsonOption) -> None:
    """Show an account: limit, what it owes, what its credit is committed to, credit left."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await service.view_account(
            db=db, operator_id=operator_id, account_id=account_id, now=context.clock.now()
        )

    emit_read(AccountRead.model_validate(run_command(work)), as_json=as_json)


def _linked(kind: str, account_id: int, item_id: int, *, unlink: bool) -> str:
    verb = "unlinked from" if unlink else "linked to"
    return f"{kind} {item_id} {verb} postpaid account {account_id}"


@postpaid_app.command("link-driver")
def link_driver(
    account_id: int,
    driver_id: int,
    unlink: Annotated[bool, typer.Option("--unlink", help="Remove the link.")] = False,
) -> None:
    """Charge a driver's sessions to the account (or stop, with --unlink)."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> None:
        action = service.unlink_driver if unlink else service.link_driver
        await action(
            db=db,
            operator_id=operator_id,
            account_id=account_id,
            driver_id=driver_id,
            now=context.clock.now(),
        )

    run_command(work)
    typer.echo(_linked("driver", account_id, driver_id, unlink=unlink))


@postpaid_app.command("link-token")
def link_token(
    account_id: int,
    token_id: int,
    unlink: Annotated[bool, typer.Option("--unlink", help="Remove the link.")] = False,
) -> None:
    """Charge a token's (fleet card's) sessions to the account (or stop, with --unlink)."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> None:
        action = service.unlink_token if unlink else service.link_token
        await action(
            db=db,
            operator_id=operator_id,
            account_id=account_id,
            token_id=token_id,
            now=context.clock.now(),
        )

    run_command(work)
    typer.echo(_linked("token", account_id, token_id, unlink=unlink))


@postpaid_app.command("preview")
def preview(account_id: int, as_json: bool = JsonOption) -> None:
    """The running month so far, as its statement will show it (not issued)."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await statements.preview_statement(
            db=db, operator_id=operator_id, account_id=account_id, now=context.clock.now()
        )

    emit_read(statement_preview_read(run_command(work)), as_json=as_json)


@postpaid_app.command("statement")
def statement(
    account_id: int,
    period: Annotated[str, typer.Option("--period", help="The month, e.g. 2026-11.")],
    as_json: bool = JsonOption,
) -> None:
    """The account's statement of a month that has ended (issued now if it was not)."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        start, end = month_period(period)
        return await statements.build_statement(
            db=db,
            operator_id=operator_id,
            account_id=account_id,
            period_start=start,
            period_end=end,
            now=context.clock.now(),
        )

    emit_read(statement_read(run_command(work)), as_json=as_json)


@postpaid_app.command("mark-paid")
def mark_paid(
    account_id: int,
    amount: Annotated[str, typer.Option("--amount", help="Received, e.g. 119.00.")],
    reference: Annotated[str, typer.Option("--reference", help="The bank's reference.")],
    statement_id: Annotated[
        int | None, typer.Option("--statement", help="The statement it pays.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Mark a bank transfer received (an overpayment is kept as credit)."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        return await received.mark_bank_transfer(
            db=db,
            operator_id=operator_id,
            account_id=account_id,
            statement_id=statement_id,
            amount=amount,
            reference=reference,
            actor="cli",
            now=context.clock.now(),
        )

    emit_read(PaymentRead.model_validate(run_command(work)), as_json=as_json)
