"""Ad-hoc payment without an account (EU AFIR; docs/adhoc-payment.md).

A guest at an EVSE sees the station, the tariff and the hold before any card is asked for
(`offer_for`); "Pay and charge" creates a guest payer (`begin_payment`: a guest driver of the
EVSE's operator and an AD_HOC token with a random idTag) and the provider's hosted card page
(payments.card_setup); back from it, the hold is placed in three steps like every provider
call (`place_hold`: plan and commit, call with no transaction open, record); the web edge then
sends RemoteStartTransaction and records the station's answer (`record_start`): refused ->
the hold is released at once; no answer -> the hold stays until the StartTransaction arrives
(the OCPP edge attaches the driver's live hold at that station) or the unused-hold sweep
releases it (payments.holds.unused_holds).

The guest's page is addressed by an unguessable token (only its SHA-256 digest is stored);
every state change is a POST to a URL carrying it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.costs import running_cost
from evbilling.charging.pricing import SessionCost
from evbilling.drivers import service as drivers
from evbilling.drivers.domain import Email, TokenType
from evbilling.infra.context import ServiceContext
from evbilling.kit import InvalidRequest, NotFound
from evbilling.models import AdhocPayment, CardSetup, ChargingSession, Evse, Payment, Station
from evbilling.money import Money
from evbilling.payments import card_flow
from evbilling.payments.adhoc_repository import AdhocRepository
from evbilling.payments.domain import HoldPolicy, PaymentStatus, UnitPrices, size_hold, unit_prices
from evbilling.payments.errors import PaymentsError
from evbilling.payments.psp import CardSetupStatus, PaymentProvider
from evbilling.rating.resolution import resolve_tariff
from evbilling.rating.texts import bill_lines
from evbilling.stations.domain import EvseUid
from evbilling.tariffs.domain import parse_tariff_json

MAX_EMAIL = 254
# Where the station's answer to RemoteStartTransaction is a refusal.
REFUSED_MESSAGE = "The charger refused to start. Your card was not charged; the hold is released."
PENDING_MESSAGE = "Waiting for the charger to start. If it does not, the hold is released."


class AdhocStatus(StrEnum):
    CARD_PENDING = "card_pending"  # the guest is on the provider's card page
    HELD = "held"  # the hold is authorized; the start is next
    STARTING = "starting"  # the station accepted RemoteStart; StartTransaction is awaited
    START_PENDING = "start_pending"  # the station did not answer RemoteStart in time
    DECLINED = "declined"  # the card or the hold was declined: nothing started
    REFUSED = "refused"  # the station refused the start: the hold is released


class NotPayable(PaymentsError):
    """The EVSE cannot be paid for here now (no tariff applies)."""


@dataclass(frozen=True, slots=True)
class Offer:
    """What the guest sees before paying: where, what it costs, how much is held."""

    operator_id: int
    station_id: int
    station_identity: str
    location_name: str
    address: str | None
    evse_id: int
    evse_uid: str
    connector_id: int
    evse_status: str | None
    max_power_w: int
    prices: UnitPrices | None
    tariff_text: str | None
    hold: Money | None

    @property
    def payable(self) -> bool:
        return self.hold is not None and self.evse_status not in ("Faulted", "Unavailable")


@dataclass(frozen=True, slots=True)
class BegunPayment:
    payment_id: int
    page_token: str  # the only copy: it goes into the guest's URL
    operator_id: int
    driver_id: int


@dataclass(frozen=True, slots=True)
class LiveView:
    """The guest's payment as it stands (read only)."""

    status: str  # an AdhocStatus, or "charging" / "stopped" / "completed" / "released"
    message: str | None
    session_id: int | None
    transaction_id: int | None
    energy_wh: int
    cost: Money | None
    final: bool
    lines: tuple[str, ...]
    hold: Money | None
    captured: Money | None
    released: bool  # the hold was released (or expired) with nothing taken from the card

    @property
    def running(self) -> bool:
        return self.status == "charging"

    @property
    def ended(self) -> bool:
        return self.status in ("stopped", "completed", "declined", "refused", "released")


def page_digest(page_token: str) -> str:
    return hashlib.sha256(page_token.encode()).hexdigest()


async def offer_for(*, db: AsyncSession, evse_uid: str, now: datetime, policy: HoldPolicy) -> Offer:
    """The EVSE's station, status, tariff and the hold a guest is asked for (NotFound for an
    unknown or malformed EVSE id)."""
    try:
        uid = EvseUid.parse(evse_uid)
    except InvalidRequest as exc:
        raise NotFound(kind="EVSE", key="?") from exc
    found = await AdhocRepository(db).evse_with_station(uid=str(uid))
    if found is None:
        raise NotFound(kind="EVSE", key=str(uid))
    evse, station, location = found
    snapshot = await resolve_tariff(
        db=db,
        operator_id=station.operator_id,
        station_id=station.id,
        evse_id=evse.id,
        driver_id=None,
        at=now,
    )
    prices = tariff_text = hold = None
    if snapshot is not None:
        tariff = parse_tariff_json(snapshot.ocpi_json)
        prices = unit_prices(tariff)
        alt = [text.text for text in tariff.tariff_alt_text if text.language == "en"]
        tariff_text = alt[0] if alt else None
        hold = size_hold(prices=prices, power_w=evse.max_power_w, policy=policy)
    return Offer(
        operator_id=station.operator_id,
        station_id=station.id,
        station_identity=station.identity,
        location_name=location.name,
        address=", ".join(part for part in (location.address, location.city) if part) or None,
        evse_id=evse.id,
        evse_uid=str(uid),
        connector_id=evse.connector_id,
        evse_status=evse.status,
        max_power_w=evse.max_power_w,
        prices=prices,
        tariff_text=tariff_text,
        hold=hold,
    )


async def owned_evse_uid(*, db: AsyncSession, operator_id: int, evse_uid: str) -> str:
    """The EVSE's canonical uid, when it is this operator's (else NotFound, as for an unknown
    one): what the QR code of its pay page is printed for."""
    try:
        uid = str(EvseUid.parse(evse_uid))
    except InvalidRequest as exc:
        raise NotFound(kind="EVSE", key="?") from exc
    found = await AdhocRepository(db).evse_with_station(uid=uid)
    if found is None or found[1].operator_id != operator_id:
        raise NotFound(kind="EVSE", key=uid)
    return uid


def parse_email(value: str | None) -> str | None:
    """The optional receipt address (blank: none); bounded, one line, one @."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_EMAIL:
        raise InvalidRequest(f"must be at most {MAX_EMAIL} characters", field="email")
    return str(Email.parse(value, field="email"))


async def begin_payment(
    *,
    db: AsyncSession,
    evse_uid: str,
    email: str | None,
    now: datetime,
    policy: HoldPolicy,
) -> BegunPayment:
    """A guest payer for this EVSE: a guest driver of its operator, an AD_HOC token with a
    random idTag, and the payment row (its page token returned once)."""
    address = parse_email(email)
    offer = await offer_for(db=db, evse_uid=evse_uid, now=now, policy=policy)
    if not offer.payable:
        raise NotPayable(f"EVSE {offer.evse_uid} cannot be paid for now")
    driver = await drivers.create_driver(
        db=db, operator_id=offer.operator_id, name="Guest (ad hoc)", email=address, now=now
    )
    token = await drivers.create_token(
        db=db,
        operator_id=offer.operator_id,
        uid="AH" + secrets.token_hex(9).upper(),
        type=TokenType.AD_HOC,
        driver_id=driver.id,
        now=now,
    )
    page_token = secrets.token_urlsafe(24)
    repository = AdhocRepository(db)
    row = repository.add(
        AdhocPayment(
            operator_id=offer.operator_id,
            station_id=offer.station_id,
            evse_id=offer.evse_id,
            connector_id=offer.connector_id,
            driver_id=driver.id,
            token_id=token.id,
            page_digest=page_digest(page_token),
            status=AdhocStatus.CARD_PENDING.value,
            email=address,
            created_at=now,
            updated_at=now,
        )
    )
    await repository.flush()
    return BegunPayment(
        payment_id=row.id, page_token=page_token, operator_id=offer.operator_id, driver_id=driver.id
    )


async def get_payment(
    *, db: AsyncSession, evse_uid: str, page_token: str, lock: bool = False
) -> AdhocPayment:
    """The guest's payment behind its page token, at this EVSE (else NotFound, the same for
    a wrong token and a wrong EVSE)."""
    if not 20 <= len(page_token) <= 64:
        raise NotFound(kind="payment", key="?")
    row = await AdhocRepository(db).by_digest(digest=page_digest(page_token), lock=lock)
    evse = None if row is None else await db.get(Evse, row.evse_id)
    if row is None or evse is None or evse.uid != evse_uid.strip().upper():
        raise NotFound(kind="payment", key="?")
    return row


async def record_card_setup(
    *, db: AsyncSession, payment_id: int, card_setup_id: int, now: datetime
) -> None:
    row = await AdhocRepository(db).get_for_update(id=payment_id)
    if row is None:
        raise NotFound(kind="payment", key=payment_id)
    row.card_setup_id = card_setup_id
    row.updated_at = now
    await db.flush()


async def id_tag_of(*, db: AsyncSession, payment: AdhocPayment) -> str:
    token = await drivers.get_token(
        db=db, operator_id=payment.operator_id, token_id=payment.token_id
    )
    return token.uid


def _decline(row: AdhocPayment, message: str, now: datetime) -> None:
    row.status = AdhocStatus.DECLINED.value
    row.message = message[:200]
    row.updated_at = now


async def place_hold(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    evse_uid: str,
    page_token: str,
    policy: HoldPolicy,
) -> AdhocPayment:
    """The hold on the guest's saved card (card_flow: plan and commit, call, record). Only a
    payment whose card is saved and that holds nothing yet is held; any other is returned as
    it is (a repeated POST places nothing twice)."""
    async with context.unit_of_work() as db:
        now = context.clock.now()
        row = await get_payment(db=db, evse_uid=evse_uid, page_token=page_token, lock=True)
        if row.status != AdhocStatus.CARD_PENDING.value:
            return row
        setup = None if row.card_setup_id is None else await db.get(CardSetup, row.card_setup_id)
        if setup is None or setup.status != CardSetupStatus.SUCCEEDED.value:
            _decline(row, "The card was not accepted. Nothing was charged.", now)
            await db.commit()
            return row
        planned = await card_flow.plan_hold(
            db=db,
            operator_id=row.operator_id,
            station_id=row.station_id,
            evse_id=row.evse_id,
            driver_id=row.driver_id,
            now=now,
            policy=policy,
        )
        if planned is None:
            _decline(row, "This charger cannot be paid for now. Nothing was charged.", now)
            await db.commit()
            return row
        row.payment_id = planned.hold_id
        await db.commit()
    outcome = await card_flow.execute_hold(provider=provider, planned=planned)
    async with context.unit_of_work() as db:
        now = context.clock.now()
        decision = await card_flow.record_hold(db=db, outcome=outcome, now=now)
        row = await get_payment(db=db, evse_uid=evse_uid, page_token=page_token, lock=True)
        if decision.accepted:
            row.status = AdhocStatus.HELD.value
            row.updated_at = now
        else:
            _decline(row, _declined_message(decision.reason), now)
        await db.commit()
        return row


def _declined_message(reason: str) -> str:
    if reason.startswith("declined"):
        return "Your card was declined. Nothing was charged and the charger was not started."
    return "The payment could not be authorized. Nothing was charged."


async def record_start(
    *, db: AsyncSession, payment_id: int, answer: str | None, now: datetime
) -> AdhocPayment:
    """The station's answer to RemoteStartTransaction: Accepted -> starting; Rejected -> the
    hold released at once; None (no answer in time) -> the hold kept for the StartTransaction
    or the unused-hold deadline."""
    row = await AdhocRepository(db).get_for_update(id=payment_id)
    if row is None:
        raise NotFound(kind="payment", key=payment_id)
    if answer == "Accepted":
        row.status, row.message = AdhocStatus.STARTING.value, None
    elif answer is None:
        row.status, row.message = AdhocStatus.START_PENDING.value, PENDING_MESSAGE
    else:
        row.status, row.message = AdhocStatus.REFUSED.value, REFUSED_MESSAGE
        if row.payment_id is not None:
            await card_flow.request_release(db=db, hold_id=row.payment_id, now=now)
    row.updated_at = now
    await db.flush()
    return row


async def session_of(*, db: AsyncSession, payment: AdhocPayment) -> ChargingSession | None:
    return await AdhocRepository(db).session_of_token(token_id=payment.token_id)


def _money(minor: int, currency: str) -> Money:
    return Money.from_minor_units(minor, currency)


async def live_view(*, db: AsyncSession, payment: AdhocPayment, now: datetime) -> LiveView:
    """Where the guest's payment stands: the session's energy and running (or final) cost,
    the hold and, once captured, what was charged. Reads only."""
    hold_row = None if payment.payment_id is None else await db.get(Payment, payment.payment_id)
    hold = captured = None
    if hold_row is not None and hold_row.authorized_minor:
        hold = _money(hold_row.authorized_minor, hold_row.currency)
    if hold_row is not None and hold_row.captured_minor:
        captured = _money(hold_row.captured_minor, hold_row.currency)
    released = hold_row is not None and hold_row.status == PaymentStatus.RELEASED.value
    session = await session_of(db=db, payment=payment)
    if session is None:
        status, message = payment.status, payment.message
        if released and status != AdhocStatus.REFUSED.value:
            status = "released"
            message = "The charger did not start. Your card was not charged; the hold is released."
        return LiveView(
            status=status, message=message, session_id=None, transaction_id=None, energy_wh=0,
            cost=None, final=False, lines=(), hold=hold, captured=captured, released=released,
        )  # fmt: skip
    cost: SessionCost | None = await running_cost(
        db=db, operator_id=payment.operator_id, session_id=session.id, now=now
    )
    if session.completed_at is not None:
        status = "completed"
    elif session.stopped_at is not None:
        status = "stopped"
    else:
        status = "charging"
    register = session.meter_stop_wh or session.last_register_wh or session.meter_start_wh
    return LiveView(
        status=status,
        message=None,
        session_id=session.id,
        transaction_id=session.transaction_id,
        energy_wh=cost.energy_wh if cost is not None else max(register - session.meter_start_wh, 0),
        cost=None if cost is None else Money(cost.total_incl_vat, cost.currency).rounded(),
        final=cost is not None and cost.final,
        lines=tuple(bill_lines(cost.rated)) if cost is not None else (),
        hold=hold,
        captured=captured,
        released=released,
    )


async def station_of(*, db: AsyncSession, payment: AdhocPayment) -> Station:
    station = await db.get(Station, payment.station_id)
    assert station is not None
    return station
