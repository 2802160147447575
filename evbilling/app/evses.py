"""Finding an EVSE from the app (its EVSE ID, or the QR code's `/pay/{evse_uid}` URL) and
the price before starting: the tariff in plain words (per kWh, per minute, per session, idle
fee, in that order, each incl. VAT) and the amount a card hold would take
(payments.card_flow.hold_amount, the sizing the charger edge uses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.station_link import StationCommandPort
from evbilling.kit import NotFound
from evbilling.kit.errors import InvalidRequest
from evbilling.models import Evse, Location, Station
from evbilling.money import Money
from evbilling.payments import card_flow
from evbilling.payments.domain import HoldPolicy
from evbilling.rating.resolution import resolve_tariff
from evbilling.stations.domain import EvseUid
from evbilling.tariffs.domain import Tariff, TariffDimensionType, parse_tariff_json
from evbilling.tariffs.price_text import amount_text, price_text, with_vat

MAX_CODE_LENGTH = 500
PAY_SEGMENT = "/pay/"
_MINUTE = Decimal(60)
_PER_MINUTE_PLACES = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class EvseView:
    evse_id: int
    evse_uid: str
    station_id: int
    station_identity: str
    connector_id: int
    max_power_w: int
    connector_standard: str | None
    power_type: str | None
    status: str | None
    connected: bool
    location_name: str
    address: str | None
    city: str | None


@dataclass(frozen=True, slots=True)
class PriceWord:
    kind: str  # energy | time | flat | parking_time
    text: str


@dataclass(frozen=True, slots=True)
class EvseQuote:
    evse: EvseView
    tariff_name: str
    currency: str
    prices: tuple[PriceWord, ...]
    summary: str
    hold: Money | None  # None: no hold would be placed (no tariff)


def evse_uid_of(code: str) -> str:
    """The EVSE ID in what the app scanned or typed: the ID itself, or a URL whose path ends
    in `/pay/{evse_uid}` (percent-encoded or not)."""
    if len(code) > MAX_CODE_LENGTH or "\x00" in code:
        raise InvalidRequest("not an EVSE ID or a payment QR code", field="code")
    text = code.strip()
    if PAY_SEGMENT in text:
        path = urlsplit(text).path if "://" in text else text.split("?")[0].split("#")[0]
        text = unquote(path.rsplit(PAY_SEGMENT, 1)[-1]).strip("/")
    return str(EvseUid.parse(text, field="code"))


async def find_evse(
    *, db: AsyncSession, operator_id: int, evse_uid: str, commands: StationCommandPort
) -> EvseView:
    """The operator's EVSE with that ID; another operator's is NotFound."""
    uid = str(EvseUid.parse(evse_uid, field="evse_uid"))
    row = (
        await db.execute(
            select(Evse, Station.identity, Location)
            .join(Station, Station.id == Evse.station_id)
            .join(Location, Location.id == Station.location_id)
            .where(Evse.uid == uid, Station.operator_id == operator_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(kind="EVSE", key=uid)
    evse, identity, location = row
    return EvseView(
        evse_id=evse.id,
        evse_uid=uid,
        station_id=evse.station_id,
        station_identity=identity,
        connector_id=evse.connector_id,
        max_power_w=evse.max_power_w,
        connector_standard=evse.connector_standard,
        power_type=evse.power_type,
        status=evse.status,
        connected=commands.is_connected(identity),
        location_name=location.name,
        address=location.address,
        city=location.city,
    )


def _highest(tariff: Tariff, kind: TariffDimensionType) -> Decimal | None:
    prices = [
        with_vat(component.price, component.vat)
        for element in tariff.elements
        for component in element.price_components
        if component.type is kind
    ]
    return max(prices) if prices else None


def price_words(tariff: Tariff) -> tuple[PriceWord, ...]:
    """Per kWh, per minute charging, per session, idle fee per minute: the highest price of
    each dimension the tariff has, incl. VAT (the summary names the conditions)."""
    currency = tariff.currency
    words: list[PriceWord] = []
    energy = _highest(tariff, TariffDimensionType.ENERGY)
    if energy is not None:
        words.append(PriceWord("energy", f"{amount_text(energy, currency)} {currency} per kWh"))
    time = _highest(tariff, TariffDimensionType.TIME)
    if time is not None:
        per_minute = (time / _MINUTE).quantize(_PER_MINUTE_PLACES, rounding=ROUND_HALF_UP)
        text = f"{amount_text(per_minute, currency)} {currency} per minute charging"
        words.append(PriceWord("time", text))
    flat = _highest(tariff, TariffDimensionType.FLAT)
    if flat is not None:
        words.append(PriceWord("flat", f"{amount_text(flat, currency)} {currency} per session"))
    parking = _highest(tariff, TariffDimensionType.PARKING_TIME)
    if parking is not None:
        per_minute = (parking / _MINUTE).quantize(_PER_MINUTE_PLACES, rounding=ROUND_HALF_UP)
        text = f"idle fee {amount_text(per_minute, currency)} {currency} per minute"
        words.append(PriceWord("parking_time", text))
    vats = {c.vat for e in tariff.elements for c in e.price_components}
    vat = f"incl. {vats.pop()}% VAT" if len(vats) == 1 and None not in vats else "incl. VAT"
    return tuple(PriceWord(word.kind, f"{word.text}, {vat}") for word in words)


async def quote_evse(
    *,
    db: AsyncSession,
    operator_id: int,
    driver_id: int,
    evse_uid: str,
    commands: StationCommandPort,
    now: datetime,
    policy: HoldPolicy = card_flow.DEFAULT_POLICY,
) -> EvseQuote:
    """The driver's price at the EVSE now, and the hold a card payment would place."""
    evse = await find_evse(db=db, operator_id=operator_id, evse_uid=evse_uid, commands=commands)
    snapshot = await resolve_tariff(
        db=db,
        operator_id=operator_id,
        station_id=evse.station_id,
        evse_id=evse.evse_id,
        driver_id=driver_id,
        at=now,
    )
    if snapshot is None:
        raise NotFound(kind="tariff for EVSE", key=evse.evse_uid)
    tariff = parse_tariff_json(snapshot.ocpi_json)
    hold = await card_flow.hold_amount(
        db=db,
        operator_id=operator_id,
        station_id=evse.station_id,
        evse_id=evse.evse_id,
        driver_id=driver_id,
        now=now,
        policy=policy,
    )
    return EvseQuote(
        evse=evse,
        tariff_name=snapshot.name,
        currency=tariff.currency,
        prices=price_words(tariff),
        summary=price_text(tariff=tariff),
        hold=hold,
    )
