"""Card holds around a station's Authorize and StartTransaction (docs/payments.md).

For a token whose driver has a saved payment method, the driver may charge only once the
provider holds money on it: the hold is planned and committed (`payments.card_flow.plan_hold`:
its idempotency key stored before the call), asked of the provider with no transaction open
(`execute_hold`), and its answer recorded in another unit of work (`record_hold`). A declined
or unknown answer turns the token away (Blocked), its reason logged by name. Without a
provider (card payments off) or a saved method, nothing changes.

At StartTransaction the live hold is attached to the new session in the start's own unit of
work (`attach_session`: the session's spending limit); a start without an Authorize before it
(a remote start the station did not authorize) places the hold first. StopTransaction never
calls the provider: the capture is a job after `session.completed`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging import service as charging
from evbilling.charging.domain import AuthorizationStatus
from evbilling.charging.settlement import record_card_payment
from evbilling.ocpp.v16.link import StationLink
from evbilling.payments import card_flow
from evbilling.payments.domain import HoldPolicy
from evbilling.payments.psp import PaymentProvider

__all__ = ["CardHolds"]


class CardHolds:
    """The card-hold steps of one station's handlers (a provider, or None: no card payments)."""

    __slots__ = ("_link", "_policy", "_provider")

    def __init__(
        self,
        *,
        link: StationLink,
        provider: PaymentProvider | None,
        policy: HoldPolicy | None = None,
    ) -> None:
        self._link = link
        self._provider = provider
        # How holds are sized (EVBILLING_HOLD_CAP...); None: payments' defaults.
        self._policy = policy or card_flow.DEFAULT_POLICY

    @property
    def enabled(self) -> bool:
        return self._provider is not None

    async def hold_for(self, *, driver_id: int, evse_id: int | None = None) -> bool | None:
        """Place (or reuse) the driver's hold at this station. True: held; False: refused (the
        reason logged); None: no hold is needed (no saved method, or no tariff applies)."""
        provider = self._provider
        if provider is None:
            return None
        station = self._link.station

        async def plan(db: AsyncSession, now: datetime) -> card_flow.PlannedHold | None:
            return await card_flow.plan_hold(
                db=db,
                operator_id=station.operator_id,
                station_id=station.id,
                evse_id=evse_id,
                driver_id=driver_id,
                now=now,
                policy=self._policy,
            )

        planned = await self._link.run(plan)  # committed: the idempotency key is stored
        if planned is None:
            return None
        outcome = await card_flow.execute_hold(provider=provider, planned=planned)

        async def record(db: AsyncSession, now: datetime) -> card_flow.HoldDecision:
            return await card_flow.record_hold(db=db, outcome=outcome, now=now)

        decision = await self._link.run(record)
        if decision.accepted:
            self._link.log.info(
                "payment.hold_accepted",
                hold_id=decision.hold_id,
                authorized=str(decision.authorized),
                reused=planned.reused,
            )
        else:
            self._link.log.warning(
                "payment.hold_refused", hold_id=decision.hold_id, reason=decision.reason
            )
        return decision.accepted

    async def authorize(self, *, info: charging.IdTagInfo) -> charging.IdTagInfo:
        """An accepted Authorize stands only if the driver's card is held (when they have
        one); otherwise the token is Blocked."""
        if info.status is not AuthorizationStatus.ACCEPTED or info.driver_id is None:
            return info
        held = await self.hold_for(driver_id=info.driver_id)
        if held is False:
            return charging.IdTagInfo(status=AuthorizationStatus.BLOCKED)
        return info

    async def refused_before_start(
        self,
        *,
        connector_id: int,
        id_tag: str,
        meter_start_wh: int,
        timestamp: datetime,
    ) -> bool:
        """Before a StartTransaction: place the hold its Authorize would have (a live one is
        reused without a call). True when the driver's card was refused. A replayed start
        places nothing."""
        if self._provider is None:
            return False
        station = self._link.station

        async def facts(db: AsyncSession, now: datetime) -> tuple[bool, int | None]:
            replayed = await charging.is_replayed_start(
                db=db,
                station=station,
                connector_id=connector_id,
                id_tag=id_tag,
                meter_start_wh=meter_start_wh,
                timestamp=timestamp,
            )
            info = await charging.authorize(db=db, station=station, id_tag=id_tag, now=now)
            accepted = info.status is AuthorizationStatus.ACCEPTED
            return replayed, info.driver_id if accepted else None

        replayed, driver_id = await self._link.run(facts)
        if replayed or driver_id is None:
            return False
        return await self.hold_for(driver_id=driver_id) is False

    async def attach(
        self, *, db: AsyncSession, result: charging.StartResult, now: datetime
    ) -> None:
        """In the StartTransaction's unit of work: the driver's live hold becomes the new
        session's (its spending limit), and the session is marked paid by card."""
        if self._provider is None or result.replayed or result.session_id is None:
            return
        if result.id_tag_info.status is not AuthorizationStatus.ACCEPTED:
            return
        await card_flow.attach_session(db=db, session_id=result.session_id, now=now)
        await record_card_payment(db=db, session_id=result.session_id, now=now)
