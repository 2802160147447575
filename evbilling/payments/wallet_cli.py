"""`evbilling wallet close DRIVER`: close a driver's wallet and refund its unused balance to
the cards it came from through the provider (the rest is an operator payout). Mounted on the
wallet slice's `wallet` command by the root command."""

from __future__ import annotations

from typing import Any

import typer

from evbilling.infra.cli import JsonOption, emit
from evbilling.infra.context import ServiceContext
from evbilling.payments import cli as payments_cli
from evbilling.payments import wallet_topups
from evbilling.payments.psp import PaymentProvider


def register(wallet_app: typer.Typer) -> None:
    wallet_app.command("close")(close_command)


def close_command(driver_id: int, as_json: bool = JsonOption) -> None:
    """Close a driver's wallet: its balance back to the cards of its top-ups (newest first),
    what they cannot return left as an operator payout."""

    async def work(context: ServiceContext, provider: PaymentProvider, operator_id: int) -> Any:
        closure = await wallet_topups.close_and_refund(
            context=context, provider=provider, operator_id=operator_id, driver_id=driver_id
        )
        return {
            "driver_id": driver_id,
            "currency": closure.balance.currency,
            "balance": str(closure.balance.amount),
            "refunded": str(closure.refunded.amount),
            "payout": str(closure.payout.amount),
        }

    emit(payments_cli._with_provider(work), as_json=as_json)
