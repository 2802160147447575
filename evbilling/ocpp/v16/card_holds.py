"""Card holds around a station's Authorize and StartTransaction (docs/payments.md), the card
route of `payment_steps` (docs/payment-choice.md).

For a driver whose session is paid by card and who has a saved payment method, the driver may
charge only once the provider holds money on it: the hold is planned and committed
(`payments.card_flow.plan_hold`: its idempotency key stored before the call), asked of the
provider with no transaction open (`execute_hold`), and its answer recorded in another unit of
work (`record_hold`). A declined or unknown answer turns the token away (Blocked), its reason
logged by name. Without a provider (card payments off) or a saved method, nothing changes.
The hold is attached to the session at StartTransaction by `payment_steps`; StopTransaction
never calls the provider: the capture is a job after `session.completed`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

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
