"""The card hold around a session, called by the charger edge (docs/payments.md):

    planned = await plan_hold(db=..., ...)            # in the edge's transaction; COMMIT it
    outcome = await execute_hold(provider=..., planned=planned)   # no transaction open
    decision = await record_hold(db=..., outcome=outcome, now=...)  # another transaction
    ...
    await attach_session(db=..., session_id=..., now=...)  # at StartTransaction

The hold is sized from the tariff and the EVSE's power, capped per currency; what the issuer
actually authorized counts, and the session's spending limit is that minus the safety margin.
One live hold per driver and charger: a retried start reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging.settlement import get_settlement, set_spending_limit
from evbilling.infra.jobs import enqueue
from evbilling.kit import NotFound
from evbilling.models import Payment
from evbilling.money import Money
from evbilling.payments.calls import finish_call, get_call, store_call
from evbilling.payments.domain import (
    CallState,
    HoldPolicy,
    PaymentStatus,
    UnitPrices,
    hold_reference,
    safety_margin,
    size_hold,
    spending_limit,
    unit_prices,
)
from evbilling.payments.psp import Authorization, OutcomeUnknown, PaymentProvider, ProviderError
from evbilling.payments.repository import MethodRepository, PaymentRepository
from evbilling.payments.service import apply_authorization, minor
from evbilling.rating.resolution import resolve_tariff
from evbilling.stations.repository import EvseRepository
from evbilling.tariffs.domain import parse_tariff_json

DEFAULT_POLICY = HoldPolicy()
# A station whose EVSE is not known is sized for this power.
DEFAULT_POWER_W = 22_000
RELEASE_KIND = "payments.release_hold"


@dataclass(frozen=True, slots=True)
class PlannedHold:
    hold_id: int
    idempotency_key: str
    reference: str
    customer_id: str
    method_id: str
    amount: Money
    off_session: bool
    reused: bool
    provider: str = ""


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    """What the provider answered to a planned hold (nothing, when it was reused)."""

    planned: PlannedHold
    authorization: Authorization | None = None
    declined: ProviderError | None = None
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class HoldDecision:
    accepted: bool
    hold_id: int
    authorized: Money | None
    reason: str
    limit: Money | None = None


async def _prices_and_power(
    *,
    db: AsyncSession,
    operator_id: int,
    station_id: int,
    evse_id: int | None,
    driver_id: int | None,
    now: datetime,
) -> tuple[UnitPrices, int] | None:
    snapshot = await resolve_tariff(
        db=db,
        operator_id=operator_id,
        station_id=station_id,
        evse_id=evse_id,
        driver_id=driver_id,
        at=now,
    )
    if snapshot is None:
        return None
    evses = (await EvseRepository(db).for_stations(station_ids=[station_id])).get(station_id, [])
    powers = [evse.max_power_w for evse in evses if evse_id is None or evse.id == evse_id]
    power = max(powers) if powers else DEFAULT_POWER_W
    return unit_prices(parse_tariff_json(snapshot.ocpi_json)), power


@dataclass(frozen=True, slots=True)
class SessionAmount:
    """What to secure for a session at a station, sized like a card hold: the amount (the
    hold's size) and the safety margin its spending limit keeps below what was secured."""

    wanted: Money
    margin: Money


async def size_for_session(
    *,
    db: AsyncSession,
    operator_id: int,
    station_id: int,
    evse_id: int | None,
    driver_id: int | None,
    now: datetime,
    policy: HoldPolicy = DEFAULT_POLICY,
) -> SessionAmount | None:
    """The amount a wallet reservation or a postpaid credit check is sized for (the card
    hold's rule, docs/payments.md); None when no tariff applies."""
    found = await _prices_and_power(
        db=db,
        operator_id=operator_id,
        station_id=station_id,
        evse_id=evse_id,
        driver_id=driver_id,
        now=now,
    )
    if found is None:
        return None
    prices, power = found
    return SessionAmount(
        wanted=size_hold(prices=prices, power_w=power, policy=policy),
        margin=safety_margin(prices=prices, power_w=power, policy=policy),
    )


async def plan_hold(
    *,
    db: AsyncSession,
    operator_id: int,
    station_id: int,
    evse_id: int | None,
    driver_id: int,
    now: datetime,
    off_session: bool = True,
    policy: HoldPolicy = DEFAULT_POLICY,
) -> PlannedHold | None:
    """The hold to place for the driver at this station, stored with its idempotency key
    (the caller commits before `execute_hold`). None: no saved method, or no tariff applies.
    A live hold the driver already has here is reused: an authorized one needs no call
    (`reused`), a planned one is called again with the same key."""
    payments = PaymentRepository(db)
    live = await payments.live_unattached(driver_id=driver_id, station_id=station_id, lock=True)
    if live is not None:
        return await _planned(db=db, payment=live, reused=live.status != PaymentStatus.PLANNED)
    method = await MethodRepository(db).default_for(driver_id=driver_id)
    if method is None or method.operator_id != operator_id:
        return None
    sized = await size_for_session(
        db=db,
        operator_id=operator_id,
        station_id=station_id,
        evse_id=evse_id,
        driver_id=driver_id,
        now=now,
        policy=policy,
    )
    if sized is None:
        return None
    amount = sized.wanted
    payment = payments.add(
        Payment(
            operator_id=operator_id,
            driver_id=driver_id,
            station_id=station_id,
            evse_id=evse_id,
            provider=method.provider,
            provider_customer_id=method.provider_customer_id,
            provider_method_id=method.provider_method_id,
            off_session=off_session,
            currency=amount.currency,
            requested_minor=minor(amount),
            authorized_minor=0,
            captured_minor=0,
            refunded_minor=0,
            margin_minor=minor(sized.margin),
            status=PaymentStatus.PLANNED.value,
            created_at=now,
            updated_at=now,
        )
    )
    await payments.flush()
    payment.reference = hold_reference(payment.id)
    await store_call(
        db=db,
        provider=method.provider,
        operation="authorize",
        subject=payment.reference,
        amount_minor=payment.requested_minor,
        now=now,
    )
    await payments.flush()
    return await _planned(db=db, payment=payment, reused=False)


async def _planned(*, db: AsyncSession, payment: Payment, reused: bool) -> PlannedHold:
    reference = hold_reference(payment.id)
    return PlannedHold(
        hold_id=payment.id,
        idempotency_key=f"authorize:{reference}:1",
        reference=reference,
        customer_id=payment.provider_customer_id,
        method_id=payment.provider_method_id,
        amount=Money.from_minor_units(payment.requested_minor, payment.currency),
        off_session=payment.off_session,
        reused=reused,
        provider=payment.provider,
    )


async def execute_hold(*, provider: PaymentProvider, planned: PlannedHold) -> HoldOutcome:
    """Ask the provider for the hold (no database, no transaction)."""
    if planned.reused:
        return HoldOutcome(planned=planned)
    try:
        authorization = await provider.authorize(
            idempotency_key=planned.idempotency_key,
            reference=planned.reference,
            customer_id=planned.customer_id,
            method_id=planned.method_id,
            amount=planned.amount,
            off_session=planned.off_session,
        )
    except OutcomeUnknown:
        return HoldOutcome(planned=planned, unknown=True)
    except ProviderError as declined:
        return HoldOutcome(planned=planned, declined=declined)
    return HoldOutcome(planned=planned, authorization=authorization)


async def record_hold(*, db: AsyncSession, outcome: HoldOutcome, now: datetime) -> HoldDecision:
    """Record the provider's answer. Accepted when the hold is authorized and leaves a
    positive spending limit; a hold too small for its margin is released at once."""
    planned = outcome.planned
    payment = await PaymentRepository(db).get_for_update(id=planned.hold_id)
    if payment is None:
        raise NotFound(kind="hold", key=planned.hold_id)
    call = await get_call(db=db, key=planned.idempotency_key)
    if outcome.authorization is not None:
        await apply_authorization(
            db=db, payment=payment, authorization=outcome.authorization, now=now
        )
        if call is not None:
            finish_call(
                call, state=CallState.SUCCEEDED, object_id=outcome.authorization.id, now=now
            )
    elif outcome.declined is not None:
        if call is not None:
            finish_call(call, state=CallState.FAILED, error=outcome.declined, now=now)
        if payment.status == PaymentStatus.PLANNED.value:
            payment.status = PaymentStatus.FAILED.value
            payment.decline_code = outcome.declined.code[:60]
            payment.updated_at = now
    elif outcome.unknown:
        if call is not None:
            finish_call(call, state=CallState.UNKNOWN, error="outcome unknown", now=now)
        # Settled later: the release job retrieves it and releases whatever was held.
        await request_release(db=db, hold_id=payment.id, now=now)
    await db.flush()
    return await _decision(db=db, payment=payment, now=now)


async def _decision(*, db: AsyncSession, payment: Payment, now: datetime) -> HoldDecision:
    status = PaymentStatus(payment.status)
    if status is not PaymentStatus.AUTHORIZED:
        reason = {
            PaymentStatus.FAILED: f"declined: {payment.decline_code or 'declined'}",
            PaymentStatus.PLANNED: "the provider's answer is unknown",
        }.get(status, f"hold is {status}")
        return HoldDecision(accepted=False, hold_id=payment.id, authorized=None, reason=reason)
    authorized = Money.from_minor_units(payment.authorized_minor, payment.currency)
    margin = Money.from_minor_units(payment.margin_minor, payment.currency)
    limit = spending_limit(authorized=authorized, margin=margin)
    if limit is None:
        await request_release(db=db, hold_id=payment.id, now=now)
        return HoldDecision(
            accepted=False,
            hold_id=payment.id,
            authorized=authorized,
            reason="the authorized amount does not cover the safety margin",
        )
    payment.limit_minor = minor(limit)
    return HoldDecision(
        accepted=True, hold_id=payment.id, authorized=authorized, reason="authorized", limit=limit
    )


async def attach_session(*, db: AsyncSession, session_id: int, now: datetime) -> None:
    """At StartTransaction: the driver's live hold at that station becomes the session's, and
    the session gets its spending limit (authorized - safety margin). Without a hold (no
    card, or a hold that failed) nothing changes."""
    settlement = await get_settlement(db=db, session_id=session_id)
    if settlement.driver_id is None:
        return
    payments = PaymentRepository(db)
    if await payments.for_session(session_id=session_id) is not None:
        return  # attached before (a replayed StartTransaction)
    payment = await payments.live_unattached(
        driver_id=settlement.driver_id, station_id=settlement.station_id, lock=True
    )
    if payment is None or payment.status != PaymentStatus.AUTHORIZED.value:
        return
    authorized = Money.from_minor_units(payment.authorized_minor, payment.currency)
    margin = Money.from_minor_units(payment.margin_minor, payment.currency)
    limit = spending_limit(authorized=authorized, margin=margin)
    payment.session_id = session_id
    payment.limit_minor = minor(limit) if limit is not None else 0
    payment.updated_at = now
    await db.flush()
    await set_spending_limit(db=db, session_id=session_id, limit=limit, now=now)


async def release_unused_hold(
    *, db: AsyncSession, driver_id: int, station_id: int, now: datetime
) -> bool:
    """A start at the station was refused: the driver's live hold there that no session took
    is released (a job after the commit), not left to the unused-hold sweep. A retried start
    before the job runs attaches it instead, and the job then leaves it alone."""
    payment = await PaymentRepository(db).live_unattached(
        driver_id=driver_id, station_id=station_id, lock=True
    )
    if payment is None:
        return False
    await request_release(db=db, hold_id=payment.id, now=now)
    return True


async def request_release(*, db: AsyncSession, hold_id: int, now: datetime) -> None:
    """Release a hold no session will use (a start that failed or was refused), in a job
    after the caller's commit; releasing twice is one release."""
    await enqueue(
        db=db,
        kind=RELEASE_KIND,
        payload={"hold_id": hold_id},
        now=now,
        dedupe_key=f"{RELEASE_KIND}:{hold_id}",
    )


async def hold_amount(
    *,
    db: AsyncSession,
    operator_id: int,
    station_id: int,
    evse_id: int | None,
    driver_id: int | None,
    now: datetime,
    policy: HoldPolicy = DEFAULT_POLICY,
) -> Money | None:
    """What `plan_hold` would hold for this driver at this EVSE now (a quote shows it before
    any card is asked for); None when no tariff applies. Nothing is stored."""
    found = await _prices_and_power(
        db=db,
        operator_id=operator_id,
        station_id=station_id,
        evse_id=evse_id,
        driver_id=driver_id,
        now=now,
    )
    if found is None:
        return None
    prices, power = found
    return size_hold(prices=prices, power_w=power, policy=policy)
