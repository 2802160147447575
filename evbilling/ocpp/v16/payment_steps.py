"""The payment steps of a station's Authorize and StartTransaction (docs/payment-choice.md).

Once the token itself is accepted, `payments.choice.choose_payment` says how the session is
paid, and the route is secured before the station is answered; a route that cannot be
secured answers Blocked:

- card: the hold of `CardHolds` (planned, asked of the provider with no transaction open,
  recorded);
- wallet: a reservation sized like a card hold (`wallets.service.reserve_for_session`); too
  low a balance is Blocked;
- postpaid: the session's exposure opened for the same amount, the credit decided under the
  account's lock (`postpaid.credit.open_exposure`); over the limit is Blocked;
- free, fixed fee: nothing to secure; refused: Blocked.

The choice made at Authorize is kept (per connection, per idTag) for its StartTransaction; a
start without an Authorize chooses and secures first. In the start's unit of work the secured
route becomes the session's (its spending limit) and the route and its reason are recorded on
the session (`charging.settlement.set_payment`).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.charging import service as charging
from evbilling.charging.domain import AuthorizationStatus, normalize_id_tag
from evbilling.charging.settlement import get_settlement, record_card_payment, set_payment
from evbilling.ocpp.v16.card_holds import CardHolds
from evbilling.ocpp.v16.link import StationLink
from evbilling.payments import card_flow
from evbilling.payments.choice import PaymentChoice, PaymentRoute, choose_payment
from evbilling.payments.domain import HoldPolicy
from evbilling.payments.psp import PaymentProvider
from evbilling.postpaid import credit as postpaid
from evbilling.wallets import service as wallets

__all__ = ["PaymentSteps"]

# Choices kept between an Authorize and its StartTransaction, per connection.
MAX_KEPT_CHOICES = 64
_SECURED_IN_DB = (PaymentRoute.WALLET, PaymentRoute.POSTPAID)


class PaymentSteps:
    """One station's payment steps (a provider, or None: card routes need no hold)."""

    __slots__ = ("_cards", "_chosen", "_link", "_policy")

    def __init__(
        self,
        *,
        link: StationLink,
        provider: PaymentProvider | None,
        policy: HoldPolicy | None = None,
    ) -> None:
        self._link = link
        self._policy = policy or card_flow.DEFAULT_POLICY
        self._cards = CardHolds(link=link, provider=provider, policy=self._policy)
        self._chosen: OrderedDict[str, PaymentChoice] = OrderedDict()

    async def authorize(self, *, id_tag: str) -> charging.IdTagInfo:
        """The token's authorization, then its payment route chosen and secured."""
        station = self._link.station

        async def work(
            db: AsyncSession, now: datetime
        ) -> tuple[charging.IdTagInfo, PaymentChoice | None, bool]:
            info = await charging.authorize(db=db, station=station, id_tag=id_tag, now=now)
            if info.status is not AuthorizationStatus.ACCEPTED:
                return info, None, False
            choice = await choose_payment(
                db=db, operator_id=station.operator_id, id_tag=id_tag, now=now
            )
            return info, choice, await self._secure_in_db(db=db, choice=choice, now=now)

        info, choice, secured = await self._link.run(work)
        if choice is None:
            return info
        if await self._secured(choice=choice, secured_in_db=secured):
            self._keep(id_tag, choice)
            return info
        return charging.IdTagInfo(status=AuthorizationStatus.BLOCKED)

    async def refused_before_start(
        self,
        *,
        connector_id: int,
        id_tag: str,
        meter_start_wh: int,
        timestamp: datetime,
    ) -> bool:
        """Before a StartTransaction: the route its Authorize chose (kept), or chosen and
        secured now (a start without Authorize). True when it cannot be secured. A replayed
        start secures nothing."""
        station = self._link.station
        kept = self._chosen.get(normalize_id_tag(id_tag))

        async def work(db: AsyncSession, now: datetime) -> tuple[PaymentChoice | None, bool]:
            replayed = await charging.is_replayed_start(
                db=db,
                station=station,
                connector_id=connector_id,
                id_tag=id_tag,
                meter_start_wh=meter_start_wh,
                timestamp=timestamp,
            )
            if replayed:
                return None, False
            info = await charging.authorize(db=db, station=station, id_tag=id_tag, now=now)
            if info.status is not AuthorizationStatus.ACCEPTED:
                return None, False
            if kept is not None:
                return kept, True
            choice = await choose_payment(
                db=db, operator_id=station.operator_id, id_tag=id_tag, now=now
            )
            return choice, await self._secure_in_db(db=db, choice=choice, now=now)

        choice, secured = await self._link.run(work)
        if choice is None:
            return False
        if choice.route is PaymentRoute.CARD or kept is None:
            # A card's live hold is reused without a call (or placed when it lapsed).
            if not await self._secured(choice=choice, secured_in_db=secured):
                self._chosen.pop(normalize_id_tag(id_tag), None)
                return True
        self._keep(id_tag, choice)
        return False

    async def attach(
        self, *, db: AsyncSession, id_tag: str, result: charging.StartResult, now: datetime
    ) -> None:
        """In the StartTransaction's unit of work: the secured route becomes the session's,
        and the route and its reason are recorded on it."""
        if result.replayed:
            return
        if result.id_tag_info.status is not AuthorizationStatus.ACCEPTED:
            await self._release_unused(db=db, id_tag=id_tag, now=now)
            return
        if result.session_id is None:
            return
        choice = self._chosen.pop(normalize_id_tag(id_tag), None)
        if choice is None:
            choice = await choose_payment(
                db=db, operator_id=self._link.station.operator_id, id_tag=id_tag, now=now
            )
        session_id = result.session_id
        reason = choice.reason
        if choice.route is PaymentRoute.CARD:
            if self._cards.enabled:
                await card_flow.attach_session(db=db, session_id=session_id, now=now)
                if await record_card_payment(db=db, session_id=session_id, now=now):
                    return
        elif choice.route is PaymentRoute.WALLET and choice.driver_id is not None:
            station_id = (await get_settlement(db=db, session_id=session_id)).station_id
            if not await wallets.attach_reservation(
                db=db,
                driver_id=choice.driver_id,
                station_id=station_id,
                session_id=session_id,
                now=now,
            ):
                reason = f"{reason}; nothing reserved"
        elif choice.route is PaymentRoute.POSTPAID and choice.account_id is not None:
            station_id = (await get_settlement(db=db, session_id=session_id)).station_id
            await postpaid.attach_exposure(
                db=db,
                account_id=choice.account_id,
                station_id=station_id,
                session_id=session_id,
                now=now,
            )
        elif choice.route is PaymentRoute.REFUSED:
            return
        await set_payment(
            db=db, session_id=session_id, kind=choice.route.value, reason=reason, now=now
        )

    async def _release_unused(self, *, db: AsyncSession, id_tag: str, now: datetime) -> None:
        """A refused start (ConcurrentTx, a token blocked since its Authorize): what this
        connection secured for it at this station is given back at once, so the driver's
        balance, credit or card is not tied up until the sweep. A retry secures again."""
        choice = self._chosen.pop(normalize_id_tag(id_tag), None)
        if choice is None:
            return  # nothing was secured here (or it was, and then refused)
        station_id = self._link.station.id
        released = False
        if choice.route is PaymentRoute.CARD and choice.driver_id is not None:
            released = await card_flow.release_unused_hold(
                db=db, driver_id=choice.driver_id, station_id=station_id, now=now
            )
        elif choice.route is PaymentRoute.WALLET and choice.driver_id is not None:
            released = await wallets.release_unused(
                db=db, driver_id=choice.driver_id, station_id=station_id, now=now
            )
        elif choice.route is PaymentRoute.POSTPAID and choice.account_id is not None:
            released = await postpaid.release_unused(
                db=db,
                account_id=choice.account_id,
                driver_id=choice.driver_id,
                station_id=station_id,
                now=now,
            )
        if released:
            self._link.log.info("payment.released_unused", route=choice.route.value)

    # -- securing ---------------------------------------------------------------------------

    async def _secure_in_db(
        self, *, db: AsyncSession, choice: PaymentChoice, now: datetime
    ) -> bool:
        """The routes secured in the caller's unit of work (wallet, postpaid); True for the
        others (decided outside)."""
        if choice.route not in _SECURED_IN_DB:
            return True
        station = self._link.station
        amount = await card_flow.size_for_session(
            db=db,
            operator_id=station.operator_id,
            station_id=station.id,
            evse_id=None,
            driver_id=choice.driver_id,
            now=now,
            policy=self._policy,
        )
        if amount is None:
            return True  # no tariff applies: nothing will be owed
        if choice.route is PaymentRoute.WALLET:
            assert choice.driver_id is not None, "a wallet route has its driver"
            reservation = await wallets.reserve_for_session(
                db=db,
                operator_id=station.operator_id,
                driver_id=choice.driver_id,
                station_id=station.id,
                wanted=amount.wanted,
                margin=amount.margin,
                now=now,
            )
            if reservation is None:
                self._link.log.warning(
                    "payment.route_refused", route="wallet", reason="balance too low"
                )
            return reservation is not None
        assert choice.account_id is not None, "a postpaid route has its account"
        exposure = await postpaid.open_exposure(
            db=db,
            account_id=choice.account_id,
            driver_id=choice.driver_id,
            station_id=station.id,
            amount=amount.wanted,
            now=now,
        )
        if exposure is None:  # refused: read the reason only then (it prices the sessions)
            credit = await postpaid.check_credit(
                db=db, account_id=choice.account_id, wanted=amount.wanted, now=now
            )
            self._link.log.warning("payment.route_refused", route="postpaid", reason=credit.reason)
        return exposure is not None

    async def _secured(self, *, choice: PaymentChoice, secured_in_db: bool) -> bool:
        if choice.route is PaymentRoute.REFUSED:
            self._link.log.warning("payment.route_refused", route="refused", reason=choice.reason)
            return False
        if choice.route is PaymentRoute.CARD and choice.driver_id is not None:
            secured_in_db = await self._cards.hold_for(driver_id=choice.driver_id) is not False
        if secured_in_db:
            self._link.log.info(
                "payment.route_chosen", route=choice.route.value, reason=choice.reason
            )
        return secured_in_db

    def _keep(self, id_tag: str, choice: PaymentChoice) -> None:
        key = normalize_id_tag(id_tag)
        self._chosen[key] = choice
        self._chosen.move_to_end(key)
        while len(self._chosen) > MAX_KEPT_CHOICES:
            self._chosen.popitem(last=False)
