"""The `mail.deliver` job: one outbox message sent, outside any transaction.

Standalone (its own units of work): the message is read, sent with no transaction open, and
marked sent in a second unit of work. A crash between sending and marking sends it again
(at least once); the directory mailer then rewrites the same file. Once sent, the text is
erased from the outbox: it may hold one-time links (e-mail confirmation, password reset) that
a copy of the database must not give away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evbilling.infra.context import ServiceContext
from evbilling.infra.jobs import StandaloneJobHandler
from evbilling.infra.logging import get_logger
from evbilling.infra.mail.delivery import Mailer, Outgoing
from evbilling.infra.mail.model import MailMessage
from evbilling.infra.mail.outbox import DELIVERY_ATTEMPTS, ERASED_BODY, MailStatus

_log = get_logger(__name__)


def deliver_mail(mailer: Mailer) -> StandaloneJobHandler:
    async def handler(*, context: ServiceContext, payload: dict[str, Any], now: datetime) -> None:
        mail_id = int(payload["mail_id"])
        async with context.unit_of_work() as db:
            row = await db.get(MailMessage, mail_id)
            if row is None or row.status == MailStatus.SENT.value:
                return
            outgoing = Outgoing(
                mail_id=row.id,
                to=row.to_address,
                subject=row.subject,
                body_text=row.body_text,
                created_at=row.created_at,
            )
        try:
            await mailer.send(outgoing)
        except Exception as exc:
            await _record_failure(context, mail_id=mail_id, error=exc)
            raise
        async with context.unit_of_work() as db:
            row = await db.get(MailMessage, mail_id, with_for_update=True)
            if row is not None:
                row.status = MailStatus.SENT.value
                row.attempts += 1
                row.sent_at = context.clock.now()
                row.last_error = None
                row.body_text = ERASED_BODY
            await db.commit()
        _log.info("mail.sent", mail_id=mail_id, email=outgoing.to)

    return handler


async def _record_failure(context: ServiceContext, *, mail_id: int, error: Exception) -> None:
    async with context.unit_of_work() as db:
        row = await db.get(MailMessage, mail_id, with_for_update=True)
        if row is not None:
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:500]
            if row.attempts >= DELIVERY_ATTEMPTS:
                row.status = MailStatus.FAILED.value
        await db.commit()
    _log.warning("mail.failed", mail_id=mail_id, error=type(error).__name__)
