"""`evbilling mail list|show`: the mail outbox from the command line (the installation's
administrator sees the real addresses; logs only ever carry pseudonyms)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.cli import (
    JsonOption,
    LimitOption,
    emit,
    emit_read,
    fields_of,
    run_unscoped_command,
    table,
)
from evbilling.infra.context import ServiceContext
from evbilling.infra.mail.outbox import MailStatus, get_mail, list_mail
from evbilling.kit import NotFound

app = typer.Typer(help="The mail outbox: queued, sent and failed messages.", no_args_is_help=True)

_COLUMNS = ["id", "status", "to_address", "subject", "attempts", "created_at", "sent_at"]


class MailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    to_address: str
    subject: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


class MailDetail(MailRead):
    body_text: str


class MailList(BaseModel):
    items: list[MailRead]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="mail")


@app.command("list")
def mail_list(
    status: Annotated[MailStatus | None, typer.Option(help="Only messages in this state.")] = None,
    limit: LimitOption = 50,
    as_json: bool = JsonOption,
) -> None:
    """Messages, newest first."""

    async def work(db: AsyncSession, context: ServiceContext) -> MailList:
        rows = await list_mail(db=db, status=None if status is None else status.value, limit=limit)
        return MailList(items=[MailRead.model_validate(row) for row in rows])

    emit(fields_of(run_unscoped_command(work)), as_json=as_json, text=_list_text)


def _list_text(page: dict[str, Any]) -> str:
    return table(page["items"], columns=_COLUMNS)


@app.command("show")
def mail_show(mail_id: int, as_json: bool = JsonOption) -> None:
    """One message with its text."""

    async def work(db: AsyncSession, context: ServiceContext) -> MailDetail:
        row = await get_mail(db=db, mail_id=mail_id)
        if row is None:
            raise NotFound(kind="mail", key=mail_id)
        return MailDetail.model_validate(row)

    emit_read(run_unscoped_command(work), as_json=as_json)
