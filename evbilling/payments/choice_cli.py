"""`evbilling operator payment-policy`: what a token linked to nobody may do
(docs/payment-choice.md)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.cli import JsonOption, emit, run_command
from evbilling.infra.context import ServiceContext
from evbilling.payments import choice_policy
from evbilling.payments.choice_schemas import PaymentPolicyRead


class UnlinkedOption(StrEnum):
    REFUSE = "refuse"
    FREE = "free"
    FIXED_FEE = "fixed-fee"


def _fee(text: str | None) -> tuple[Decimal, str] | None:
    if text is None:
        return None
    currency, sep, amount = text.partition(":")
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        value = None
    if not sep or value is None or not currency.strip():
        raise typer.BadParameter(
            "write the fee as CURRENCY:AMOUNT, e.g. EUR:2.00", param_hint="--fee"
        )
    return value, currency.strip().upper()


def _text(policy: dict[str, Any]) -> str:
    line = f"unlinked tokens: {policy['unlinked']}"
    if policy["fee_amount"] is not None:
        line += f"; fixed fee {policy['fee_currency']} {policy['fee_amount']} (VAT included)"
    return line


def payment_policy(
    unlinked: Annotated[
        UnlinkedOption | None,
        typer.Option("--unlinked", help="What a token linked to no driver and no account may do."),
    ] = None,
    fee: Annotated[
        str | None, typer.Option("--fee", help="The fixed fee incl. VAT, e.g. EUR:2.00.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Show or change the policy for unlinked tokens (refuse, free, fixed-fee --fee EUR:2.00)."""
    parsed = _fee(fee)

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> Any:
        if unlinked is None and parsed is None:
            return await choice_policy.get_policy(db=db, operator_id=operator_id)
        current = await choice_policy.get_policy(db=db, operator_id=operator_id)
        policy = unlinked.value.replace("-", "_") if unlinked is not None else current.unlinked
        return await choice_policy.set_policy(
            db=db,
            operator_id=operator_id,
            unlinked=policy,
            fee_amount=parsed[0] if parsed is not None else None,
            fee_currency=parsed[1] if parsed is not None else None,
            now=context.clock.now(),
        )

    read = PaymentPolicyRead.model_validate(run_command(work))
    emit(read.model_dump(mode="json"), as_json=as_json, text=_text)


def register(*, operator_app: typer.Typer) -> None:
    operator_app.command("payment-policy")(payment_policy)
