"""A driver's saved payment methods as the driver manages them: remove one (detached at the
provider first, then forgotten) or make one the default. Another driver's method is
NotFound. The provider is called with no transaction open (docs/architecture.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.kit import NotFound
from evbilling.kit.errors import Conflict
from evbilling.models import PaymentMethod
from evbilling.payments.card_setup import CardSetupUnavailable
from evbilling.payments.psp import OutcomeUnknown, PaymentProvider, ProviderError
from evbilling.payments.repository import MethodRepository

# The provider's code for an object it does not have (a card detached before).
MISSING_AT_PROVIDER = "resource_missing"


class MethodNotRemoved(Conflict):
    """The provider refused to detach the card; it stays saved."""


async def owned_method(
    *, db: AsyncSession, operator_id: int, driver_id: int, method_id: int, lock: bool = False
) -> PaymentMethod:
    methods = MethodRepository(db)
    row = (
        await methods.get_for_update(id=method_id, owner_id=operator_id)
        if lock
        else await methods.get(id=method_id, owner_id=operator_id)
    )
    if row is None or row.driver_id != driver_id:
        raise NotFound(kind="payment method", key=method_id)
    return row


async def make_default(
    *, db: AsyncSession, operator_id: int, driver_id: int, method_id: int, now: datetime
) -> PaymentMethod:
    """The method future holds are placed on (the others stay saved)."""
    row = await owned_method(
        db=db, operator_id=operator_id, driver_id=driver_id, method_id=method_id, lock=True
    )
    await MethodRepository(db).clear_default(driver_id=driver_id)
    row.is_default = True
    await db.flush()
    return row


async def remove_method(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    operator_id: int,
    driver_id: int,
    method_id: int,
) -> None:
    """Detach the card at the provider, then forget it; when it was the default, the newest
    remaining method becomes the default. A provider that does not answer leaves it saved
    (CardSetupUnavailable: asking again is safe)."""
    async with context.unit_of_work() as db:
        row = await owned_method(
            db=db, operator_id=operator_id, driver_id=driver_id, method_id=method_id
        )
        token = row.provider_method_id
    try:
        await provider.detach_method(method_id=token)
    except OutcomeUnknown as exc:
        raise CardSetupUnavailable("the provider did not answer; try again") from exc
    except ProviderError as exc:
        if exc.code != MISSING_AT_PROVIDER:
            raise MethodNotRemoved(f"the provider refused to detach the card: {exc}") from exc
        # Gone at the provider already: only ours is left to forget.
    async with context.unit_of_work() as db:
        methods = MethodRepository(db)
        found = await methods.get_for_update(id=method_id, owner_id=operator_id)
        if found is None or found.driver_id != driver_id:
            return  # removed meanwhile
        was_default = found.is_default
        await db.delete(found)
        await db.flush()
        if was_default:
            remaining = await methods.for_driver(operator_id=operator_id, driver_id=driver_id)
            if remaining:
                remaining[-1].is_default = True
        await db.commit()
