"""All SQL of ad-hoc payments: the guest's payment by its page digest, the EVSE it pays at,
the session its token started, and the receipts still to mail."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, select, update

from evbilling.infra.db.repository import RepositoryBase
from evbilling.models import AdhocPayment, ChargingSession, Evse, Location, Station


class AdhocRepository(RepositoryBase[AdhocPayment]):
    model = AdhocPayment
    kind = "payment"

    async def by_digest(self, *, digest: str, lock: bool = False) -> AdhocPayment | None:
        statement = select(AdhocPayment).where(AdhocPayment.page_digest == digest)
        if lock:
            statement = statement.with_for_update()
        return (await self.db.execute(statement)).scalar_one_or_none()

    async def evse_with_station(self, *, uid: str) -> tuple[Evse, Station, Location] | None:
        row = (
            await self.db.execute(
                select(Evse, Station, Location)
                .join(Station, Station.id == Evse.station_id)
                .join(Location, Location.id == Station.location_id)
                .where(Evse.uid == uid)
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    async def session_of_token(self, *, token_id: int) -> ChargingSession | None:
        return (
            await self.db.execute(
                select(ChargingSession)
                .where(ChargingSession.token_id == token_id)
                .order_by(ChargingSession.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()

    async def receipts_to_mail(self, *, limit: int) -> Sequence[tuple[AdhocPayment, int]]:
        """Payments with an address whose session is complete and whose receipt is unsent."""
        rows = await self.db.execute(
            select(AdhocPayment, ChargingSession.id)
            .join(ChargingSession, ChargingSession.token_id == AdhocPayment.token_id)
            .where(
                AdhocPayment.email.is_not(None),
                AdhocPayment.receipt_mailed_at.is_(None),
                ChargingSession.completed_at.is_not(None),
            )
            .order_by(AdhocPayment.id)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in rows]

    async def forget_addresses_without_session(self, *, before: datetime, now: datetime) -> int:
        """The e-mail addresses of guests who never charged (declined, refused, abandoned)
        and began before `before`: erased. How many."""
        started = exists().where(ChargingSession.token_id == AdhocPayment.token_id)
        result = await self.db.execute(
            update(AdhocPayment)
            .where(
                AdhocPayment.email.is_not(None),
                AdhocPayment.created_at < before,
                ~started,
            )
            .values(email=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
