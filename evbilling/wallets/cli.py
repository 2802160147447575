"""`evbilling wallet show|credit|movements DRIVER`: a driver's prepaid wallet from the command
line, one service call in one committed transaction for the installation's operator
(`wallet close` refunds through the provider: payments/wallet_cli.py adds it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.cli import JsonOption, LimitOption, emit_page, emit_read, run_command
from evbilling.infra.context import ServiceContext
from evbilling.kit import InvalidRequest, NotFound
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import WalletLimits, parse_amount_setting
from evbilling.wallets.schemas import WalletMovementPage, WalletMovementRead, WalletRead

wallet_app = typer.Typer(help="Prepaid wallets of drivers.", no_args_is_help=True)
_limits: Callable[[], WalletLimits] = WalletLimits
_MOVEMENT_COLUMNS = ["id", "kind", "amount", "currency", "reference", "created_at"]


def register(root: typer.Typer, *, limits: Callable[[], WalletLimits]) -> None:
    """Mount `wallet` on the root command; `limits` reads the installation's limits."""
    global _limits
    _limits = limits
    root.add_typer(wallet_app, name="wallet")


@wallet_app.command("show")
def show_command(driver_id: int, as_json: bool = JsonOption) -> None:
    """A driver's wallet: available, reserved for running sessions, balance."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> WalletRead:
        view = await wallets.get_wallet(db=db, operator_id=operator_id, driver_id=driver_id)
        if view is None:
            raise NotFound(kind="wallet of driver", key=driver_id)
        return WalletRead.of(view)

    emit_read(run_command(work), as_json=as_json)


@wallet_app.command("credit")
def credit_command(
    driver_id: int,
    amount: Annotated[str, typer.Option(help="Currency and amount, e.g. EUR:10.")],
    reason: Annotated[str, typer.Option(help="Why the driver gets it (required).")],
    as_json: bool = JsonOption,
) -> None:
    """Credit a driver's wallet as a goodwill gesture (up to the maximum balance)."""

    async def work(
        db: AsyncSession, context: ServiceContext, operator_id: int
    ) -> WalletMovementRead:
        try:
            money = parse_amount_setting(amount, name="amount")
        except InvalidRequest as exc:
            raise InvalidRequest(str(exc), field="amount") from exc
        movement = await wallets.credit_goodwill(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            amount=money,
            reason=reason,
            actor="command line",
            now=context.clock.now(),
            limits=_limits(),
        )
        return WalletMovementRead.of(movement)

    emit_read(run_command(work), as_json=as_json)


@wallet_app.command("movements")
def movements_command(
    driver_id: int,
    limit: LimitOption = 50,
    after: Annotated[int | None, typer.Option(help="next_after of the previous page.")] = None,
    as_json: bool = JsonOption,
) -> None:
    """What came into and went out of a driver's wallet, newest first."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        page = await wallets.list_movements(
            db=db, operator_id=operator_id, driver_id=driver_id, limit=limit, after=after
        )
        return WalletMovementPage(
            items=[WalletMovementRead.of(row) for row in page.rows],
            limit=page.limit,
            next_after=page.next_after,
        )

    emit_page(run_command(work), as_json=as_json, columns=_MOVEMENT_COLUMNS)
