"""The mail outbox: a message is a row written in the transaction that wants it sent, and a
`mail.deliver` job queued with it, so it is sent exactly when that work commits (and never
when it rolls back). Like every service: `db` and `now`, flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.jobs import enqueue
from evbilling.infra.mail.model import MailMessage
from evbilling.kit.errors import InvalidRequest

DELIVER_KIND = "mail.deliver"
MAX_ADDRESS = 320
MAX_SUBJECT = 200
MAX_BODY = 100_000
MAX_DEDUPE_KEY = 200
DELIVERY_ATTEMPTS = 8


# What a sent message's text becomes: its one-time links are not kept (jobs.deliver_mail).
ERASED_BODY = "(erased once sent)"


class MailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def _header_text(value: str, *, field: str, limit: int) -> str:
    """A header value: one line (no CR, LF or NUL, so nothing can add a header), bounded."""
    text = value.strip()
    if not text or len(text) > limit or any(ch in text for ch in "\r\n\x00"):
        raise InvalidRequest(f"must be one line of 1 to {limit} characters", field=field)
    if not text.isprintable():
        raise InvalidRequest("must be printable text", field=field)
    return text


async def enqueue_mail(
    *,
    db: AsyncSession,
    to: str,
    subject: str,
    body_text: str,
    now: datetime,
    dedupe_key: str | None = None,
) -> int:
    """Queue a plain-text message to `to`; returns its outbox id. With a `dedupe_key` that a
    message already holds, nothing is queued and that message's id is returned."""
    address = _header_text(to, field="to", limit=MAX_ADDRESS)
    if address.count("@") != 1:
        raise InvalidRequest("must be an e-mail address", field="to")
    title = _header_text(subject, field="subject", limit=MAX_SUBJECT)
    if len(body_text) > MAX_BODY or "\x00" in body_text:
        raise InvalidRequest(f"must be at most {MAX_BODY} characters, no NUL", field="body_text")
    key: str | None = None
    if dedupe_key is not None:
        key = _header_text(dedupe_key, field="dedupe_key", limit=MAX_DEDUPE_KEY)
        existing = await db.scalar(select(MailMessage.id).where(MailMessage.dedupe_key == key))
        if existing is not None:
            return int(existing)
    message = MailMessage(
        to_address=address,
        subject=title,
        body_text=body_text,
        dedupe_key=key,
        status=MailStatus.PENDING.value,
        attempts=0,
        created_at=now,
    )
    db.add(message)
    await db.flush()
    await enqueue(
        db=db,
        kind=DELIVER_KIND,
        payload={"mail_id": message.id},
        now=now,
        dedupe_key=f"mail:{message.id}",
        max_attempts=DELIVERY_ATTEMPTS,
    )
    return message.id


async def list_mail(
    *, db: AsyncSession, status: str | None = None, limit: int = 50
) -> Sequence[MailMessage]:
    """The outbox, newest first."""
    statement = select(MailMessage).order_by(MailMessage.id.desc()).limit(limit)
    if status is not None:
        statement = statement.where(MailMessage.status == status)
    return list((await db.execute(statement)).scalars())


async def get_mail(*, db: AsyncSession, mail_id: int) -> MailMessage | None:
    return await db.get(MailMessage, mail_id)
