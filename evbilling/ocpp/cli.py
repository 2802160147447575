"""`evbilling ocpp dead-letters` and `evbilling ocpp dead-letter ID`: the stations' messages
that failed on their own, newest first, with their frames (dead_letters module)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.cli import (
    JsonOption,
    LimitOption,
    details,
    emit,
    emit_read,
    fields_of,
    parsed_as,
    run_command,
    table,
)
from evbilling.infra.context import ServiceContext
from evbilling.ocpp.dead_letters import DeadLetterRepository
from evbilling.stations.domain import StationIdentity

ocpp_app = typer.Typer(help="The OCPP edge: messages that could not be processed.")


def register(root: typer.Typer) -> None:
    root.add_typer(ocpp_app, name="ocpp")


class DeadLetterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    received_at: datetime
    station_id: int | None
    station_identity: str
    action: str
    message_id: str
    error_type: str
    error_message: str
    frame_length: int
    frame: str


class DeadLetterPage(BaseModel):
    items: list[DeadLetterRead]
    limit: int
    # Pass as --after for the next page; None on the last page.
    next_after: int | None


_COLUMNS = ["id", "received_at", "station_identity", "action", "message_id", "error_type"]


@ocpp_app.command("dead-letters")
def dead_letters_command(
    station: Annotated[
        str | None,
        typer.Option(help="Only this station (identity).", parser=parsed_as(StationIdentity)),
    ] = None,
    limit: LimitOption = 20,
    after: Annotated[
        int | None, typer.Option(min=1, help="The next_after of the previous page.")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Messages stations sent that failed on their own, newest first (frames with --json or
    `dead-letter ID`)."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> DeadLetterPage:
        page = await DeadLetterRepository(db).newest(
            operator_id=operator_id, station_identity=station, limit=limit, after=after
        )
        return DeadLetterPage(
            items=[DeadLetterRead.model_validate(row) for row in page.rows],
            limit=page.limit,
            next_after=page.next_after,
        )

    emit(run_command(work), as_json=as_json, text=_page_text)


def _page_text(page: DeadLetterPage) -> str:
    rows = [fields_of(item) for item in page.items]
    text = table(rows, columns=_COLUMNS) if rows else "no dead letters"
    if page.next_after is not None:
        text += f"\nmore: --after {page.next_after}"
    return text


@ocpp_app.command("dead-letter")
def dead_letter_command(dead_letter_id: int, as_json: bool = JsonOption) -> None:
    """One dead letter with its error and its frame."""

    async def work(db: AsyncSession, context: ServiceContext, operator_id: int) -> DeadLetterRead:
        row = await DeadLetterRepository(db).get_owned(id=dead_letter_id, owner_id=operator_id)
        return DeadLetterRead.model_validate(row)

    emit_read(run_command(work), as_json=as_json, text=details)
