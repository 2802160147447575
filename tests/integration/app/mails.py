"""Reading the mail outbox in tests: messages to an address and the token in a link."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from evbilling.infra.context import ServiceContext
from evbilling.models import DriverAccount, MailMessage

_TOKEN = re.compile(r"token=([A-Za-z0-9_-]+)")


async def mails_to(context: ServiceContext, address: str) -> list[MailMessage]:
    async with context.unit_of_work() as db:
        rows = await db.execute(
            select(MailMessage).where(MailMessage.to_address == address).order_by(MailMessage.id)
        )
        return list(rows.scalars())


def link_token(mail: MailMessage) -> str:
    found = _TOKEN.search(mail.body_text)
    assert found is not None, mail.body_text
    return found.group(1)


async def last_token(context: ServiceContext, address: str) -> str:
    mails = await mails_to(context, address)
    assert mails, f"no mail to {address}"
    return link_token(mails[-1])


async def account_count(context: ServiceContext) -> int:
    async with context.unit_of_work() as db:
        return int(await db.scalar(select(func.count()).select_from(DriverAccount)) or 0)


async def account_by_email(context: ServiceContext, address: str) -> DriverAccount | None:
    async with context.unit_of_work() as db:
        result = await db.execute(select(DriverAccount).where(DriverAccount.email == address))
        return result.scalar_one_or_none()
