"""All SQL of the payment slice: customers, methods, card set-ups, holds, provider calls,
refunds, the webhook inbox, session charges and reconciliation runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from evbilling.infra.db.repository import KeysetPage, RepositoryBase
from evbilling.models import (
    CardSetup,
    Payment,
    PaymentCustomer,
    PaymentMethod,
    PaymentRefund,
    ProviderCall,
    ReconciliationRun,
    SessionCharge,
    WebhookInbox,
)
from evbilling.payments.domain import CallState, PaymentStatus, RefundState

_LIVE = (PaymentStatus.PLANNED.value, PaymentStatus.AUTHORIZED.value)


class CustomerRepository(RepositoryBase[PaymentCustomer]):
    model = PaymentCustomer
    kind = "payment customer"

    async def for_driver(self, *, provider: str, driver_id: int) -> PaymentCustomer | None:
        result = await self.db.execute(
            select(PaymentCustomer).where(
                PaymentCustomer.provider == provider, PaymentCustomer.driver_id == driver_id
            )
        )
        return result.scalar_one_or_none()


class MethodRepository(RepositoryBase[PaymentMethod]):
    model = PaymentMethod
    kind = "payment method"

    async def by_token(self, *, provider: str, token: str) -> PaymentMethod | None:
        result = await self.db.execute(
            select(PaymentMethod).where(
                PaymentMethod.provider == provider, PaymentMethod.provider_method_id == token
            )
        )
        return result.scalar_one_or_none()

    async def for_driver(self, *, operator_id: int, driver_id: int) -> Sequence[PaymentMethod]:
        result = await self.db.execute(
            select(PaymentMethod)
            .where(PaymentMethod.operator_id == operator_id, PaymentMethod.driver_id == driver_id)
            .order_by(PaymentMethod.id)
        )
        return result.scalars().all()

    async def default_for(self, *, driver_id: int) -> PaymentMethod | None:
        result = await self.db.execute(
            select(PaymentMethod)
            .where(PaymentMethod.driver_id == driver_id)
            .order_by(PaymentMethod.is_default.desc(), PaymentMethod.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def clear_default(self, *, driver_id: int) -> None:
        await self.db.execute(
            update(PaymentMethod)
            .where(PaymentMethod.driver_id == driver_id, PaymentMethod.is_default.is_(True))
            .values(is_default=False)
        )


class CardSetupRepository(RepositoryBase[CardSetup]):
    model = CardSetup
    kind = "card setup"

    async def by_provider_id(
        self, *, provider: str, setup_id: str, lock: bool = False
    ) -> CardSetup | None:
        statement = select(CardSetup).where(
            CardSetup.provider == provider, CardSetup.provider_setup_id == setup_id
        )
        if lock:
            statement = statement.with_for_update()
        return (await self.db.execute(statement)).scalar_one_or_none()


class PaymentRepository(RepositoryBase[Payment]):
    model = Payment
    kind = "payment"

    async def live_unattached(
        self, *, driver_id: int, station_id: int, lock: bool = False
    ) -> Payment | None:
        statement = select(Payment).where(
            Payment.driver_id == driver_id,
            Payment.station_id == station_id,
            Payment.session_id.is_(None),
            Payment.status.in_(_LIVE),
        )
        if lock:
            statement = statement.with_for_update()
        return (await self.db.execute(statement)).scalar_one_or_none()

    async def for_session(self, *, session_id: int, lock: bool = False) -> Payment | None:
        statement = select(Payment).where(Payment.session_id == session_id)
        if lock:
            statement = statement.with_for_update()
        return (await self.db.execute(statement)).scalar_one_or_none()

    async def by_authorization(
        self, *, provider: str, authorization_id: str, lock: bool = False
    ) -> Payment | None:
        statement = select(Payment).where(
            Payment.provider == provider, Payment.authorization_id == authorization_id
        )
        if lock:
            statement = statement.with_for_update()
        return (await self.db.execute(statement)).scalar_one_or_none()

    async def by_reference(self, *, reference: str, lock: bool = False) -> Payment | None:
        statement = select(Payment).where(Payment.reference == reference)
        if lock:
            statement = statement.with_for_update()
        return (await self.db.execute(statement)).scalar_one_or_none()

    async def unused_before(self, *, created_before: datetime, limit: int) -> Sequence[int]:
        """Live holds no session took, older than `created_before`."""
        result = await self.db.execute(
            select(Payment.id)
            .where(
                Payment.session_id.is_(None),
                Payment.status.in_(_LIVE),
                Payment.created_at < created_before,
            )
            .order_by(Payment.id)
            .limit(limit)
        )
        return result.scalars().all()

    async def list_page(
        self, *, operator_id: int, limit: int, after: int | None, driver_id: int | None
    ) -> KeysetPage[Payment]:
        statement = self.select_owned(owner_id=operator_id)
        if driver_id is not None:
            statement = statement.where(Payment.driver_id == driver_id)
        return await self.keyset_page(statement, limit=limit, after=after)

    async def reserve_refund(self, *, payment_id: int, amount_minor: int, now: datetime) -> bool:
        """Add `amount_minor` to what is refunded if that stays within what was captured: one
        guarded UPDATE, so concurrent refunds can never pass the captured amount together."""
        result = await self.db.execute(
            update(Payment)
            .where(
                Payment.id == payment_id,
                Payment.refunded_minor + amount_minor <= Payment.captured_minor,
            )
            .values(refunded_minor=Payment.refunded_minor + amount_minor, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def return_refund(self, *, payment_id: int, amount_minor: int, now: datetime) -> None:
        await self.db.execute(
            update(Payment)
            .where(Payment.id == payment_id)
            .values(refunded_minor=Payment.refunded_minor - amount_minor, updated_at=now)
            .execution_options(synchronize_session=False)
        )

    async def captured_between(
        self, *, provider: str, start: datetime, end: datetime
    ) -> Sequence[Payment]:
        result = await self.db.execute(
            select(Payment).where(
                Payment.provider == provider,
                Payment.captured_minor > 0,
                Payment.captured_at >= start,
                Payment.captured_at < end,
            )
        )
        return result.scalars().all()


class CallRepository(RepositoryBase[ProviderCall]):
    model = ProviderCall
    owner_column = None
    kind = "provider call"

    async def by_key(self, *, key: str) -> ProviderCall | None:
        result = await self.db.execute(
            select(ProviderCall).where(ProviderCall.idempotency_key == key)
        )
        return result.scalar_one_or_none()

    async def latest(self, *, subject: str, operation: str) -> ProviderCall | None:
        result = await self.db.execute(
            select(ProviderCall)
            .where(ProviderCall.subject == subject, ProviderCall.operation == operation)
            .order_by(ProviderCall.id.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def count(self, *, subject: str, operation: str) -> int:
        result = await self.db.execute(
            select(func.count()).where(
                ProviderCall.subject == subject, ProviderCall.operation == operation
            )
        )
        return int(result.scalar_one())

    async def open_calls(self, *, limit: int) -> Sequence[ProviderCall]:
        result = await self.db.execute(
            select(ProviderCall)
            .where(ProviderCall.state.in_([CallState.PENDING.value, CallState.UNKNOWN.value]))
            .order_by(ProviderCall.id)
            .limit(limit)
        )
        return result.scalars().all()


class RefundRepository(RepositoryBase[PaymentRefund]):
    model = PaymentRefund
    kind = "refund"

    async def for_payment(self, *, payment_id: int) -> Sequence[PaymentRefund]:
        result = await self.db.execute(
            select(PaymentRefund)
            .where(PaymentRefund.payment_id == payment_id)
            .order_by(PaymentRefund.id)
        )
        return result.scalars().all()

    async def by_provider_id(self, *, provider: str, refund_id: str) -> PaymentRefund | None:
        result = await self.db.execute(
            select(PaymentRefund).where(
                PaymentRefund.provider == provider, PaymentRefund.provider_refund_id == refund_id
            )
        )
        return result.scalar_one_or_none()

    async def succeeded_between(
        self, *, provider: str, start: datetime, end: datetime
    ) -> Sequence[PaymentRefund]:
        result = await self.db.execute(
            select(PaymentRefund).where(
                PaymentRefund.provider == provider,
                PaymentRefund.status == RefundState.SUCCEEDED.value,
                PaymentRefund.updated_at >= start,
                PaymentRefund.updated_at < end,
            )
        )
        return result.scalars().all()


class InboxRepository(RepositoryBase[WebhookInbox]):
    model = WebhookInbox
    owner_column = None
    kind = "webhook event"

    async def seen(self, *, provider: str, event_id: str) -> bool:
        result = await self.db.execute(
            select(WebhookInbox.id).where(
                WebhookInbox.provider == provider, WebhookInbox.event_id == event_id
            )
        )
        return result.first() is not None

    async def insert(
        self, *, provider: str, event_id: str, type: str, object_id: str, now: datetime
    ) -> int | None:
        """The new row's id; None when the event was stored before (a duplicate delivery).
        ON CONFLICT DO NOTHING: a failed INSERT would abort a PostgreSQL transaction."""
        on_postgresql = self.db.get_bind().dialect.name == "postgresql"
        insert = postgresql.insert if on_postgresql else sqlite.insert
        statement = (
            insert(WebhookInbox)
            .values(
                provider=provider,
                event_id=event_id,
                type=type[:60],
                object_id=object_id[:100],
                outcome="received",
                received_at=now,
            )
            .on_conflict_do_nothing()
            .returning(WebhookInbox.id)
        )
        return (await self.db.execute(statement)).scalar_one_or_none()

    async def set_outcome(self, *, row_id: int, outcome: str) -> None:
        await self.db.execute(
            update(WebhookInbox).where(WebhookInbox.id == row_id).values(outcome=outcome)
        )


class ChargeRepository(RepositoryBase[SessionCharge]):
    model = SessionCharge
    kind = "session charge"

    async def for_session(self, *, session_id: int, lock: bool = False) -> SessionCharge | None:
        statement = select(SessionCharge).where(SessionCharge.session_id == session_id)
        if lock:
            statement = statement.with_for_update()
        return (await self.db.execute(statement)).scalar_one_or_none()

    async def for_payment(self, *, payment_id: int, lock: bool = False) -> SessionCharge | None:
        statement = select(SessionCharge).where(SessionCharge.payment_id == payment_id)
        if lock:
            statement = statement.with_for_update()
        return (await self.db.execute(statement)).scalar_one_or_none()

    async def receivables(
        self, *, operator_id: int, limit: int, after: int | None
    ) -> KeysetPage[SessionCharge]:
        # A postpaid session is owed by its account (its statement), not by the driver.
        statement = self.select_owned(owner_id=operator_id).where(
            SessionCharge.receivable_minor > 0,
            or_(SessionCharge.payment_kind.is_(None), SessionCharge.payment_kind != "postpaid"),
        )
        return await self.keyset_page(statement, limit=limit, after=after)

    async def totals(self, *, operator_id: int | None = None) -> list[dict[str, Any]]:
        """Per currency: Σ total, Σ captured, Σ receivable, Σ written off."""
        statement = select(
            SessionCharge.currency,
            func.sum(SessionCharge.total_minor),
            func.sum(SessionCharge.captured_minor),
            func.sum(SessionCharge.receivable_minor),
            func.sum(SessionCharge.written_off_minor),
        ).group_by(SessionCharge.currency)
        if operator_id is not None:
            statement = statement.where(SessionCharge.operator_id == operator_id)
        rows = (await self.db.execute(statement)).all()
        return [
            {
                "currency": row[0],
                "total_minor": int(row[1] or 0),
                "captured_minor": int(row[2] or 0),
                "receivable_minor": int(row[3] or 0),
                "written_off_minor": int(row[4] or 0),
            }
            for row in rows
        ]


class ReconciliationRepository(RepositoryBase[ReconciliationRun]):
    model = ReconciliationRun
    owner_column = None
    kind = "reconciliation run"

    async def payment_by_authorization(
        self, *, provider: str, ids: Sequence[str]
    ) -> dict[str, Payment]:
        if not ids:
            return {}
        result = await self.db.execute(
            select(Payment).where(Payment.provider == provider, Payment.authorization_id.in_(ids))
        )
        return {row.authorization_id: row for row in result.scalars() if row.authorization_id}

    async def refund_by_provider_id(
        self, *, provider: str, ids: Sequence[str]
    ) -> dict[str, PaymentRefund]:
        if not ids:
            return {}
        result = await self.db.execute(
            select(PaymentRefund).where(
                PaymentRefund.provider == provider, PaymentRefund.provider_refund_id.in_(ids)
            )
        )
        return {row.provider_refund_id: row for row in result.scalars() if row.provider_refund_id}

    async def net_captured(self, *, provider: str) -> dict[str, int]:
        """Per currency: everything captured minus every refund paid, all time."""
        captured = await self.db.execute(
            select(Payment.currency, func.sum(Payment.captured_minor))
            .where(Payment.provider == provider)
            .group_by(Payment.currency)
        )
        totals = {row[0]: int(row[1] or 0) for row in captured}
        refunded = await self.db.execute(
            select(PaymentRefund.currency, func.sum(PaymentRefund.amount_minor))
            .where(
                PaymentRefund.provider == provider,
                PaymentRefund.status == RefundState.SUCCEEDED.value,
            )
            .group_by(PaymentRefund.currency)
        )
        for currency, amount in refunded:
            totals[currency] = totals.get(currency, 0) - int(amount or 0)
        return totals
