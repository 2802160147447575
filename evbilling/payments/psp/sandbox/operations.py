"""The sandbox provider's behaviour: holds, increments, captures, cancels, refunds, each in
one transaction of the sandbox's own database (docs/payments-sandbox.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from evbilling.payments.psp.currencies import ProviderCurrencies
from evbilling.payments.psp.sandbox import tables as t
from evbilling.payments.psp.sandbox.cards import PARTIAL_AUTHORIZATION_CAP, CardBehaviour
from evbilling.payments.psp.sandbox.store import (
    ApiFailure,
    Effects,
    Outcome,
    authorization_json,
    check_amount,
    emit,
    expire_if_due,
    fee_for,
    hold_validity,
    invalid,
    is_duplicate,
    locked_authorization,
    next_id,
    not_found,
    refund_json,
    reload,
)

_DECLINES = {
    CardBehaviour.DECLINE: ("generic_decline", "The card was declined."),
    CardBehaviour.INSUFFICIENT_FUNDS: ("insufficient_funds", "The card has insufficient funds."),
}


def _card_error(decline_code: str, message: str, **extra: object) -> Outcome:
    return Outcome(
        402,
        {
            "error": {
                "type": "card_error", "code": "card_declined", "decline_code": decline_code,
                "message": message, **extra,
            }
        },
    )  # fmt: skip


def _partial_cap(currencies: ProviderCurrencies, currency: str) -> int:
    return int(PARTIAL_AUTHORIZATION_CAP.scaleb(currencies.rule(currency).exponent))


async def authorize(
    conn: AsyncConnection,
    effects: Effects,
    *,
    now: datetime,
    currencies: ProviderCurrencies,
    reference: str,
    customer_id: str,
    method_id: str,
    currency: str,
    amount: int,
    off_session: bool,
    statement_descriptor: str | None,
) -> Outcome:
    check_amount(currencies, currency=currency, amount=amount)
    minimum = currencies.to_minor(currencies.minimum_charge(currency))
    if amount < minimum:
        raise invalid("amount_too_small", f"the minimum amount in {currency} is {minimum}")
    method = (
        (await conn.execute(select(t.methods).where(t.methods.c.id == method_id)))
        .mappings()
        .one_or_none()
    )
    if method is None or method["detached"]:
        raise not_found("payment_method", method_id)
    if method["customer_id"] != customer_id:
        raise invalid("payment_method_customer_mismatch", "the method belongs to another customer")
    behaviour = CardBehaviour(method["behaviour"])
    authorization_id = await next_authorization_id(conn)
    decline = _DECLINES.get(behaviour)
    authorized = amount
    if behaviour is CardBehaviour.PARTIAL_AUTHORIZATION:
        authorized = min(amount, _partial_cap(currencies, currency))
    status = "failed" if decline else "authorized"
    await conn.execute(
        insert(t.authorizations).values(
            id=authorization_id, reference=reference, customer_id=customer_id,
            method_id=method_id, behaviour=behaviour.value, currency=currency,
            requested=amount, authorized=0 if decline else authorized, captured=0,
            refunded=0, status=status, decline_code=decline[0] if decline else None,
            cancellation_reason=None, off_session=off_session,
            statement_descriptor=statement_descriptor,
            capture_before_us=None if decline else t.to_us(now + hold_validity(behaviour)),
            created_us=t.to_us(now),
        )
    )  # fmt: skip
    row = await reload(conn, authorization_id)
    body = authorization_json(row)
    await emit(
        conn, effects, now=now, type_=f"authorization.{status}", obj=body,
        duplicate=is_duplicate(row),
    )  # fmt: skip
    if decline:
        return _card_error(decline[0], decline[1], authorization=body)
    return Outcome(200, body)


async def next_authorization_id(conn: AsyncConnection) -> str:
    return await next_id(conn, "pi")


async def retrieve(
    conn: AsyncConnection, effects: Effects, *, now: datetime, authorization_id: str
) -> Outcome:
    row = await locked_authorization(conn, authorization_id)
    row = await expire_if_due(conn, effects, row, now=now)
    return Outcome(200, authorization_json(row))


async def expire(
    conn: AsyncConnection, effects: Effects, *, now: datetime, authorization_id: str
) -> Outcome:
    """Cancel the hold if its deadline passed, in a transaction of its own: the expiry stands
    even when the request that touched the hold is then refused."""
    return await retrieve(conn, effects, now=now, authorization_id=authorization_id)


async def list_authorizations(
    conn: AsyncConnection, effects: Effects, *, now: datetime, reference: str | None
) -> Outcome:
    """Holds (by our reference when given), newest first; expired holds are canceled first."""
    due = await conn.execute(
        select(t.authorizations.c.id).where(
            t.authorizations.c.status == "authorized",
            t.authorizations.c.capture_before_us <= t.to_us(now),
        )
    )
    for authorization_id in due.scalars().all():
        row = await locked_authorization(conn, authorization_id)
        await expire_if_due(conn, effects, row, now=now)
    query = select(t.authorizations).order_by(
        t.authorizations.c.created_us.desc(), t.authorizations.c.id.desc()
    )
    if reference is not None:
        query = query.where(t.authorizations.c.reference == reference)
    rows = (await conn.execute(query.limit(100))).mappings().all()
    return Outcome(200, {"object": "list", "data": [authorization_json(row) for row in rows]})


def _require_authorized(row: RowMapping, action: str) -> None:
    status = row["status"]
    if status != "authorized":
        raise invalid(
            "authorization_unexpected_state",
            f"cannot {action} an authorization whose status is {status}",
        )


async def increment(
    conn: AsyncConnection,
    effects: Effects,
    *,
    now: datetime,
    currencies: ProviderCurrencies,
    authorization_id: str,
    amount: int,
) -> Outcome:
    row = await expire_if_due(
        conn, effects, await locked_authorization(conn, authorization_id), now=now
    )
    _require_authorized(row, "increment")
    check_amount(currencies, currency=row["currency"], amount=amount)
    if amount <= row["authorized"]:
        raise invalid("amount_invalid", "the new total must be above the authorized amount")
    behaviour = CardBehaviour(row["behaviour"])
    if behaviour is CardBehaviour.PARTIAL_AUTHORIZATION and amount > _partial_cap(
        currencies, row["currency"]
    ):
        return _card_error(
            "insufficient_funds", "The issuer declined the increment.",
            authorization=authorization_json(row),
        )  # fmt: skip
    await conn.execute(
        update(t.authorizations)
        .where(t.authorizations.c.id == authorization_id)
        .values(requested=amount, authorized=amount)
    )
    updated = await reload(conn, authorization_id)
    body = authorization_json(updated)
    await emit(
        conn, effects, now=now, type_="authorization.incremented", obj=body,
        duplicate=is_duplicate(updated),
    )  # fmt: skip
    return Outcome(200, body)


async def capture(
    conn: AsyncConnection,
    effects: Effects,
    *,
    now: datetime,
    currencies: ProviderCurrencies,
    authorization_id: str,
    amount: int,
    slow_capture_seconds: float,
) -> Outcome:
    row = await expire_if_due(
        conn, effects, await locked_authorization(conn, authorization_id), now=now
    )
    _require_authorized(row, "capture")
    currency = row["currency"]
    check_amount(currencies, currency=currency, amount=amount)
    if amount > row["authorized"]:
        raise invalid("amount_too_large", "cannot capture more than the capturable amount")
    minimum = currencies.to_minor(currencies.minimum_charge(currency))
    if amount < minimum:
        raise invalid("amount_too_small", f"the minimum amount in {currency} is {minimum}")
    behaviour = CardBehaviour(row["behaviour"])
    if behaviour is CardBehaviour.CAPTURE_FAILURE:
        raise ApiFailure(
            402, type_="api_error", code="capture_failed",
            message="The capture failed at the processor; nothing was captured.",
        )  # fmt: skip
    await conn.execute(
        update(t.authorizations)
        .where(t.authorizations.c.id == authorization_id, t.authorizations.c.status == "authorized")
        .values(status="captured", captured=amount)
    )
    await conn.execute(
        insert(t.captures).values(
            authorization_id=authorization_id, amount=amount, created_us=t.to_us(now)
        )
    )
    exponent = currencies.rule(currency).exponent
    await _balance_transaction(
        conn, kind="capture", source_id=authorization_id, reference=row["reference"],
        currency=currency, amount=amount, fee=fee_for(amount, exponent=exponent), now=now,
    )  # fmt: skip
    updated = await reload(conn, authorization_id)
    body = authorization_json(updated)
    await emit(
        conn, effects, now=now, type_="authorization.captured", obj=body,
        duplicate=is_duplicate(updated),
    )  # fmt: skip
    if behaviour is CardBehaviour.SLOW_CAPTURE:
        effects.answer_after_seconds = slow_capture_seconds
    return Outcome(200, body)


async def cancel(
    conn: AsyncConnection, effects: Effects, *, now: datetime, authorization_id: str
) -> Outcome:
    """Release a hold. A hold already canceled (or expired) is answered as it is."""
    row = await expire_if_due(
        conn, effects, await locked_authorization(conn, authorization_id), now=now
    )
    if row["status"] == "canceled":
        return Outcome(200, authorization_json(row))
    _require_authorized(row, "cancel")
    await conn.execute(
        update(t.authorizations)
        .where(t.authorizations.c.id == authorization_id)
        .values(status="canceled", cancellation_reason="requested")
    )
    updated = await reload(conn, authorization_id)
    body = authorization_json(updated)
    await emit(
        conn, effects, now=now, type_="authorization.canceled", obj=body,
        duplicate=is_duplicate(updated),
    )  # fmt: skip
    return Outcome(200, body)


async def refund(
    conn: AsyncConnection,
    effects: Effects,
    *,
    now: datetime,
    currencies: ProviderCurrencies,
    reference: str,
    authorization_id: str,
    amount: int,
) -> Outcome:
    """Refund part or all of a capture; never more than captured minus refunded (the hold's
    row is locked, so concurrent refunds are checked one after another)."""
    row = await locked_authorization(conn, authorization_id)
    if row["status"] != "captured":
        raise invalid("charge_not_captured", "only a captured authorization can be refunded")
    currency = row["currency"]
    check_amount(currencies, currency=currency, amount=amount)
    remaining = row["captured"] - row["refunded"]
    if amount > remaining:
        raise invalid(
            "amount_too_large",
            f"refund of {amount} is above the {remaining} captured and not yet refunded",
        )
    guarded = await conn.execute(
        update(t.authorizations)
        .where(
            t.authorizations.c.id == authorization_id,
            t.authorizations.c.refunded + amount <= t.authorizations.c.captured,
        )
        .values(refunded=t.authorizations.c.refunded + amount)
    )
    if guarded.rowcount != 1:
        raise invalid("amount_too_large", "refund would exceed the captured amount")
    refund_id = await next_id(conn, "re")
    await conn.execute(
        insert(t.refunds).values(
            id=refund_id, reference=reference, authorization_id=authorization_id,
            currency=currency, amount=amount, status="succeeded", created_us=t.to_us(now),
        )
    )  # fmt: skip
    await _balance_transaction(
        conn, kind="refund", source_id=refund_id, reference=reference, currency=currency,
        amount=-amount, fee=0, now=now,
    )  # fmt: skip
    refund_row = (
        (await conn.execute(select(t.refunds).where(t.refunds.c.id == refund_id))).mappings().one()
    )
    body = refund_json(refund_row)
    await emit(
        conn, effects, now=now, type_="refund.succeeded", obj=body, duplicate=is_duplicate(row)
    )
    return Outcome(200, body)


async def _balance_transaction(
    conn: AsyncConnection,
    *,
    kind: str,
    source_id: str,
    reference: str | None,
    currency: str,
    amount: int,
    fee: int,
    now: datetime,
) -> None:
    await conn.execute(
        insert(t.balance_transactions).values(
            id=await next_id(conn, "txn"), kind=kind, source_id=source_id,
            reference=reference, currency=currency, amount=amount, fee=fee,
            created_us=t.to_us(now),
        )
    )  # fmt: skip
