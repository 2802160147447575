"""The first use of an unlinked RFID card at a station offers a one-time code to link it to a
driver's app account (evbilling.drivers.linking): the code goes to the station's display
(a SetUserPrice DataTransfer, as ocpp.v16.display sends texts, to stations with a display)
and to the CSMS log, after the Authorize is answered. A failure never disturbs charging."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging import service as charging
from evbilling.drivers import linking
from evbilling.ocpp.v16.display import DISPLAY_TIMEOUT_S, user_price_payload
from evbilling.ocpp.v16.link import StationLink

__all__ = ["code_text", "offer_link_code"]


def code_text(issued: linking.IssuedCode) -> str:
    """What the display shows: the digits in two groups, and what to do with them."""
    half = len(issued.code) // 2
    grouped = f"{issued.code[:half]} {issued.code[half:]}"
    minutes = int(linking.LINK_CODE_TTL.total_seconds() // 60)
    return f"Link this card in the app with code {grouped} (valid {minutes} min)"


def offer_link_code(link: StationLink, *, id_tag: str, info: charging.IdTagInfo) -> None:
    """After an Authorize of a card linked to no driver: issue and show a code, in the
    background."""
    if info.driver_id is None:
        link.in_background(_offer(link, id_tag))


async def _offer(link: StationLink, id_tag: str) -> None:
    station = link.station

    async def work(db: AsyncSession, now: datetime) -> linking.IssuedCode | None:
        return await linking.offer_link_code(
            db=db, operator_id=station.operator_id, station_id=station.id, uid=id_tag, now=now
        )

    try:
        issued = await link.run(work)
        if issued is None:
            return
        link.log.info(
            "rfid.link_code_issued",
            id_tag=id_tag,
            code=issued.code,
            expires_at=issued.expires_at.isoformat(),
        )
        if station.pricing_display:
            payload = user_price_payload(id_tag=id_tag, price_text=code_text(issued))
            await link.send_call(
                action="DataTransfer", payload=payload, timeout_s=DISPLAY_TIMEOUT_S
            )
    except Exception:
        link.log.exception("rfid.link_code_failed")
