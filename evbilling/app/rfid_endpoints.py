"""The app's RFID card routes: the driver's cards, linking one with the code its first use at
a station showed, and unlinking (the card is blocked)."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter, Response, status

from evbilling.access.driver_caller import CurrentDriver
from evbilling.app.driving_schemas import CardLinkCreate, CardRead
from evbilling.drivers import linking
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import problems

router = APIRouter()
_TAG: list[str | Enum] = ["rfid cards"]


@router.get(
    "/rfid-cards",
    response_model=list[CardRead],
    tags=_TAG,
    summary="The driver's RFID cards",
    responses=problems(401),
)
async def list_cards(caller: CurrentDriver, db: Db) -> list[CardRead]:
    rows = await linking.list_cards(
        db=db, operator_id=caller.operator_id, driver_id=caller.driver_id
    )
    return [CardRead.model_validate(row) for row in rows]


@router.post(
    "/rfid-cards",
    response_model=CardRead,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Link an RFID card: its UID and the code the station showed at its first use",
    description="A wrong, expired or spent code is 422 (each try counts: a code allows "
    f"{linking.MAX_LINK_ATTEMPTS}); a card linked to another account is 409.",
    responses=problems(401, 409, 422),
)
async def link_card(body: CardLinkCreate, caller: CurrentDriver, context: Context) -> CardRead:
    # Its own unit of work: a refused code's attempt is committed before the refusal.
    async with context.unit_of_work() as db:
        result = await linking.link_card(
            db=db,
            operator_id=caller.operator_id,
            driver_id=caller.driver_id,
            uid=body.uid,
            code=body.code,
            now=context.clock.now(),
        )
        card = CardRead.model_validate(result.token) if result.token is not None else None
        await db.commit()
    if card is None:
        raise linking.LinkCodeRefused()
    return card


@router.delete(
    "/rfid-cards/{card_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=_TAG,
    summary="Unlink an RFID card: it is blocked and charges nobody's account",
    responses=problems(401, 404),
)
async def unlink_card(card_id: int, caller: CurrentDriver, context: Context, db: Db) -> Response:
    await linking.unlink_card(
        db=db,
        operator_id=caller.operator_id,
        driver_id=caller.driver_id,
        token_id=card_id,
        now=context.clock.now(),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
