"""Customers, card set-ups (the hosted page's back end) and saved methods in the sandbox."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from evbilling.payments.psp.sandbox import tables as t
from evbilling.payments.psp.sandbox.cards import CardBehaviour, CheckedCard
from evbilling.payments.psp.sandbox.store import (
    Effects,
    Outcome,
    customer_json,
    emit,
    invalid,
    iso,
    method_json,
    next_id,
    not_found,
)


async def create_customer(
    conn: AsyncConnection, effects: Effects, *, now: datetime, reference: str, email: str | None
) -> Outcome:
    customer_id = await next_id(conn, "cus")
    await conn.execute(
        insert(t.customers).values(
            id=customer_id, reference=reference, email=email, created_us=t.to_us(now)
        )
    )
    row = await _customer(conn, customer_id)
    body = customer_json(row)
    await emit(
        conn, effects, now=now, type_="customer.created", obj={**body, "status": "active"},
        duplicate=False,
    )  # fmt: skip
    return Outcome(200, body)


async def _customer(conn: AsyncConnection, customer_id: str) -> RowMapping:
    row = (
        (await conn.execute(select(t.customers).where(t.customers.c.id == customer_id)))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise not_found("customer", customer_id)
    return row


async def get_customer(conn: AsyncConnection, *, customer_id: str) -> Outcome:
    return Outcome(200, customer_json(await _customer(conn, customer_id)))


async def _setup(conn: AsyncConnection, setup_id: str) -> RowMapping:
    row = (
        (await conn.execute(select(t.setups).where(t.setups.c.id == setup_id).with_for_update()))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise not_found("card_setup", setup_id)
    return row


async def setup_json(conn: AsyncConnection, row: RowMapping, *, page_url: str) -> dict[str, Any]:
    method = None
    if row["method_id"] is not None:
        method_row = (
            (await conn.execute(select(t.methods).where(t.methods.c.id == row["method_id"])))
            .mappings()
            .one()
        )
        method = method_json(method_row)
    return {
        "id": row["id"], "object": "card_setup", "customer": row["customer_id"],
        "status": row["status"], "url": f"{page_url}/setup/{row['id']}?key={row['page_key']}",
        "return_url": row["return_url"], "payment_method": method,
        "created": iso(t.from_us(row["created_us"])),
    }  # fmt: skip


async def create_setup(
    conn: AsyncConnection,
    *,
    now: datetime,
    customer_id: str,
    return_url: str,
    page_url: str,
) -> Outcome:
    await _customer(conn, customer_id)
    if not return_url.startswith(("http://", "https://")):
        raise invalid("url_invalid", "return_url must be an http(s) URL")
    setup_id = await next_id(conn, "seti")
    await conn.execute(
        insert(t.setups).values(
            id=setup_id, customer_id=customer_id, return_url=return_url,
            page_key=secrets.token_urlsafe(18), status="pending", method_id=None,
            created_us=t.to_us(now),
        )
    )  # fmt: skip
    return Outcome(200, await setup_json(conn, await _setup(conn, setup_id), page_url=page_url))


async def get_setup(conn: AsyncConnection, *, setup_id: str, page_url: str) -> Outcome:
    return Outcome(200, await setup_json(conn, await _setup(conn, setup_id), page_url=page_url))


async def page_setup(conn: AsyncConnection, *, setup_id: str, page_key: str) -> RowMapping:
    """The set-up a hosted page link names; its key must match (the link is the credential)."""
    row = await _setup(conn, setup_id)
    if not hmac.compare_digest(row["page_key"].encode(), page_key.encode()):
        raise not_found("card_setup", setup_id)
    return row


async def complete_setup(
    conn: AsyncConnection,
    effects: Effects,
    *,
    now: datetime,
    setup_id: str,
    page_key: str,
    card: CheckedCard,
    page_url: str,
) -> str:
    """Save the checked card as a method of the set-up's customer; the return URL."""
    row = await page_setup(conn, setup_id=setup_id, page_key=page_key)
    if row["status"] != "pending":
        raise invalid("setup_unexpected_state", "this card set-up is already complete")
    method_id = await next_id(conn, "pm")
    await conn.execute(
        insert(t.methods).values(
            id=method_id, customer_id=row["customer_id"], brand=card.brand, last4=card.last4,
            exp_month=card.exp_month, exp_year=card.exp_year, behaviour=card.behaviour.value,
            detached=False, created_us=t.to_us(now),
        )
    )  # fmt: skip
    await conn.execute(
        update(t.setups)
        .where(t.setups.c.id == setup_id)
        .values(status="succeeded", method_id=method_id)
    )
    body = await setup_json(conn, await _setup(conn, setup_id), page_url=page_url)
    await emit(
        conn, effects, now=now, type_="card_setup.succeeded", obj=body,
        duplicate=card.behaviour is CardBehaviour.DUPLICATE_WEBHOOKS,
    )  # fmt: skip
    separator = "&" if "?" in row["return_url"] else "?"
    return f"{row['return_url']}{separator}setup_id={setup_id}"


async def detach_method(
    conn: AsyncConnection, effects: Effects, *, now: datetime, method_id: str
) -> Outcome:
    row = (
        (await conn.execute(select(t.methods).where(t.methods.c.id == method_id).with_for_update()))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise not_found("payment_method", method_id)
    if not row["detached"]:
        await conn.execute(
            update(t.methods).where(t.methods.c.id == method_id).values(detached=True)
        )
        body = method_json({**row, "detached": True})
        await emit(
            conn, effects, now=now, type_="payment_method.detached",
            obj={**body, "status": "detached"}, duplicate=False,
        )  # fmt: skip
    return Outcome(200, method_json({**row, "detached": True}))
