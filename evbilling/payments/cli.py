"""`evbilling payments ...`: card set-ups, payments, refunds, receivables and reconciliation
from the command line. Commands that call the provider open their own short units of work
(none is open while the provider answers); the root command passes the provider's factory
to `register` (the sandbox's own database opened here, or Stripe)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

import typer

from evbilling.infra.cli import (
    JsonOption,
    LimitOption,
    emit,
    emit_read,
    fields_of,
    run_command,
    settings,
    table,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.kit import EVBillingError, SystemClock, parse_utc_timestamp
from evbilling.payments import card_setup, reconcile, refunds, service
from evbilling.payments.providers import PaymentsRuntime
from evbilling.payments.psp import PaymentProvider
from evbilling.payments.schemas import (
    CardSetupRead,
    ChargePage,
    ChargeRead,
    PaymentPage,
    PaymentRead,
    ReconciliationRead,
    RefundRead,
)

T = TypeVar("T")

app = typer.Typer(
    help="Card payments: saved cards, holds, refunds, receivables.", no_args_is_help=True
)

_provider: Callable[[], PaymentsRuntime] | None = None
_public_url: Callable[[], str] = lambda: "http://127.0.0.1:8080"  # noqa: E731
_PAYMENT_COLUMNS = ["id", "driver_id", "session_id", "status", "currency", "authorized_minor",
                    "captured_minor", "refunded_minor"]  # fmt: skip
_CHARGE_COLUMNS = ["session_id", "driver_id", "currency", "total_minor", "captured_minor",
                   "receivable_minor", "shortfall_reason"]  # fmt: skip


def register(
    root: typer.Typer, *, provider: Callable[[], PaymentsRuntime], public_url: Callable[[], str]
) -> None:
    """Mount `payments` on the root command; `provider` builds the configured provider."""
    global _provider, _public_url
    _provider, _public_url = provider, public_url
    root.add_typer(app, name="payments")


def _with_provider(work: Callable[[ServiceContext, PaymentProvider, int], Awaitable[T]]) -> T:
    async def run() -> T:
        assert _provider is not None, "register() runs before any command"
        config = settings()
        engine = create_engine(url=config.database_url)
        context = ServiceContext(
            session_factory=create_session_factory(engine),
            clock=SystemClock(),
            api_keys=config.api_keys,
        )
        runtime = _provider()
        try:
            async with context.unit_of_work() as db:
                operator_id = await config.operator_of(db=db, now=context.clock.now())
                await db.commit()
            return await work(context, runtime.provider, operator_id)
        finally:
            await runtime.close()
            await engine.dispose()

    try:
        return asyncio.run(run())
    except EVBillingError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc


def _when(text: str, *, name: str) -> datetime:
    try:
        return parse_utc_timestamp(text)
    except EVBillingError as exc:
        raise typer.BadParameter(f"{name}: {exc}") from exc


@app.command("card-setup")
def card_setup_command(driver_id: int, as_json: bool = JsonOption) -> None:
    """Start saving a card for a driver; prints the provider's hosted page URL."""

    async def work(context: ServiceContext, provider: PaymentProvider, operator_id: int) -> Any:
        return await card_setup.start_card_setup(
            context=context,
            provider=provider,
            operator_id=operator_id,
            driver_id=driver_id,
            return_url=_public_url().rstrip("/") + card_setup.RETURN_PATH,
        )

    read = CardSetupRead.model_validate(_with_provider(work))
    emit_read(read, as_json=as_json, text=lambda data: f"card set-up {data['id']}: {data['url']}")


@app.command("refund")
def refund_command(
    payment_id: int,
    reason: Annotated[str, typer.Option(help="Why (kept with the refund).")],
    amount: Annotated[
        str | None,
        typer.Option(help="In the currency's units (12.50); all that is left if omitted."),
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Refund all or part of a captured payment (never more than captured)."""
    try:
        value = None if amount is None else Decimal(amount)
    except InvalidOperation as exc:
        raise typer.BadParameter(f"amount: not a decimal number: {amount!r}") from exc

    async def work(context: ServiceContext, provider: PaymentProvider, operator_id: int) -> Any:
        return await refunds.request_refund(
            context=context,
            provider=provider,
            operator_id=operator_id,
            payment_id=payment_id,
            amount=value,
            reason=reason,
        )

    emit_read(RefundRead.model_validate(_with_provider(work)), as_json=as_json)


@app.command("write-off")
def write_off_command(
    session_id: int,
    amount: Annotated[
        str | None, typer.Option(help="In the currency's units; all that is owed if omitted.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Write off (part of) what a driver owes for a session."""
    try:
        value = None if amount is None else Decimal(amount)
    except InvalidOperation as exc:
        raise typer.BadParameter(f"amount: not a decimal number: {amount!r}") from exc

    async def work(db: Any, context: ServiceContext, operator_id: int) -> ChargeRead:
        row = await service.write_off(
            db=db, operator_id=operator_id, session_id=session_id, amount=value,
            now=context.clock.now(),
        )  # fmt: skip
        return ChargeRead.model_validate(row)

    emit_read(run_command(work), as_json=as_json)


@app.command("reconcile")
def reconcile_command(
    period_from: Annotated[str, typer.Option("--from", help="Start (ISO 8601, UTC), inclusive.")],
    period_to: Annotated[str, typer.Option("--to", help="End (ISO 8601, UTC), exclusive.")],
    as_json: bool = JsonOption,
) -> None:
    """Compare payments and the ledger's PSP clearing with the provider; lists mismatches."""
    start, end = _when(period_from, name="--from"), _when(period_to, name="--to")

    async def work(context: ServiceContext, provider: PaymentProvider, operator_id: int) -> Any:
        return await reconcile.reconcile(context=context, provider=provider, start=start, end=end)

    run = ReconciliationRead.model_validate(_with_provider(work))
    emit(fields_of(run), as_json=as_json, text=_reconciliation_text)


def _reconciliation_text(run: dict[str, Any]) -> str:
    if not run["mismatches"]:
        return f"reconciliation {run['id']}: no mismatches"
    columns = ["kind", "source", "reference", "currency", "ours_minor", "provider_minor"]
    return f"reconciliation {run['id']}: {run['mismatch_count']} mismatch(es)\n" + table(
        run["mismatches"], columns=columns
    )


@app.command("list")
def list_command(
    driver: Annotated[int | None, typer.Option(min=1, help="Only this driver's.")] = None,
    limit: LimitOption = 50,
    after: Annotated[
        int | None, typer.Option(min=1, help="The next_after of the last page.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Holds and payments, newest first."""

    async def work(db: Any, context: ServiceContext, operator_id: int) -> PaymentPage:
        page = await service.list_payments(
            db=db, operator_id=operator_id, limit=limit, after=after, driver_id=driver
        )
        return PaymentPage.model_validate(page)

    page = fields_of(run_command(work))
    emit(page, as_json=as_json, text=lambda data: table(data["items"], columns=_PAYMENT_COLUMNS))


@app.command("show")
def show_command(payment_id: int, as_json: bool = JsonOption) -> None:
    """One hold or payment."""

    async def work(db: Any, context: ServiceContext, operator_id: int) -> PaymentRead:
        row = await service.get_payment(db=db, operator_id=operator_id, payment_id=payment_id)
        return PaymentRead.model_validate(row)

    emit_read(run_command(work), as_json=as_json)


@app.command("receivables")
def receivables_command(limit: LimitOption = 50, as_json: bool = JsonOption) -> None:
    """Settled sessions drivers still owe money for."""

    async def work(db: Any, context: ServiceContext, operator_id: int) -> ChargePage:
        page = await service.list_receivables(db=db, operator_id=operator_id, limit=limit)
        return ChargePage.model_validate(page)

    page = fields_of(run_command(work))
    emit(page, as_json=as_json, text=lambda data: table(data["items"], columns=_CHARGE_COLUMNS))
