"""Saving a card: an operator starts a card set-up for a driver and gets the provider's hosted
page; the driver types the card there (never on our pages); the return URL or the webhook,
whichever comes first, stores the token (brand, last 4, expiry) as the driver's default
method. Each provider call is stored with its idempotency key first, made with no
transaction open, then recorded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers import service as drivers
from evbilling.infra.context import ServiceContext
from evbilling.kit import NotFound
from evbilling.models import CardSetup, PaymentCustomer, PaymentMethod
from evbilling.payments.calls import finish_call, get_call, latest_call, store_call
from evbilling.payments.domain import CallState
from evbilling.payments.errors import PaymentsError
from evbilling.payments.psp import CardSetup as ProviderCardSetup
from evbilling.payments.psp import CardSetupStatus, OutcomeUnknown, PaymentProvider
from evbilling.payments.repository import CardSetupRepository, CustomerRepository, MethodRepository

# Where the provider's hosted page sends the driver back to (on the server's public URL).
PAGES_PREFIX = "/payments"
RETURN_PATH = PAGES_PREFIX + "/card-setups/return"


class CardSetupUnavailable(PaymentsError):
    """The provider did not answer the card set-up; asking again is safe."""


async def start_card_setup(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    operator_id: int,
    driver_id: int,
    return_url: str,
) -> CardSetup:
    """A new hosted card-entry page for the driver (its customer created on first use)."""
    customer_id = await _ensure_customer(
        context=context, provider=provider, operator_id=operator_id, driver_id=driver_id
    )
    async with context.unit_of_work() as db:
        now = context.clock.now()
        setups = CardSetupRepository(db)
        setup = setups.add(
            CardSetup(
                operator_id=operator_id,
                driver_id=driver_id,
                provider=provider.name,
                status=CardSetupStatus.PENDING.value,
                created_at=now,
                updated_at=now,
            )
        )
        await setups.flush()
        call = await store_call(
            db=db,
            provider=provider.name,
            operation="start_card_setup",
            subject=f"card_setup:{setup.id}",
            now=now,
        )
        setup_id, key = setup.id, call.idempotency_key
        await db.commit()
    try:
        started = await provider.start_card_setup(
            idempotency_key=key, customer_id=customer_id, return_url=return_url
        )
    except OutcomeUnknown as exc:
        async with context.unit_of_work() as db:
            await _finish(db=db, key=key, state=CallState.UNKNOWN, now=context.clock.now())
            await db.commit()
        raise CardSetupUnavailable("the provider did not answer; try again") from exc
    async with context.unit_of_work() as db:
        now = context.clock.now()
        setup = await CardSetupRepository(db).get_owned(id=setup_id, owner_id=operator_id)
        setup.provider_setup_id = started.id
        setup.url = started.url
        setup.updated_at = now
        await _finish(db=db, key=key, state=CallState.SUCCEEDED, now=now, object_id=started.id)
        await db.flush()
        await apply_card_setup(db=db, provider=provider.name, setup=started, now=now)
        await db.commit()
        return setup


async def _finish(
    *, db: AsyncSession, key: str, state: CallState, now: datetime, object_id: str | None = None
) -> None:
    call = await get_call(db=db, key=key)
    if call is not None:
        finish_call(call, state=state, now=now, object_id=object_id)


async def _ensure_customer(
    *, context: ServiceContext, provider: PaymentProvider, operator_id: int, driver_id: int
) -> str:
    async with context.unit_of_work() as db:
        driver = await drivers.get_driver(db=db, operator_id=operator_id, driver_id=driver_id)
        existing = await CustomerRepository(db).for_driver(
            provider=provider.name, driver_id=driver_id
        )
        if existing is not None:
            return existing.provider_customer_id
        subject = f"customer:driver:{driver_id}"
        previous = await latest_call(db=db, subject=subject, operation="create_customer")
        if previous is not None and CallState(previous.state).open:
            key = previous.idempotency_key  # within the key window: the same customer back
        else:
            key = (
                await store_call(
                    db=db,
                    provider=provider.name,
                    operation="create_customer",
                    subject=subject,
                    now=context.clock.now(),
                )
            ).idempotency_key
        email = driver.email
        await db.commit()
    try:
        customer = await provider.create_customer(
            idempotency_key=key, reference=f"driver:{driver_id}", email=email
        )
    except OutcomeUnknown as exc:
        raise CardSetupUnavailable("the provider did not answer; try again") from exc
    async with context.unit_of_work() as db:
        now = context.clock.now()
        customers = CustomerRepository(db)
        if await customers.for_driver(provider=provider.name, driver_id=driver_id) is None:
            customers.add(
                PaymentCustomer(
                    operator_id=operator_id,
                    driver_id=driver_id,
                    provider=provider.name,
                    provider_customer_id=customer.id,
                    created_at=now,
                )
            )
        await _finish(db=db, key=key, state=CallState.SUCCEEDED, now=now, object_id=customer.id)
        await customers.flush()
        await db.commit()
    return customer.id


async def complete_card_setup(
    *, context: ServiceContext, provider: PaymentProvider, setup_id: str
) -> CardSetup:
    """The return URL's work: the set-up as the provider has it now, its token stored."""
    found = await provider.retrieve_card_setup(setup_id=setup_id)
    async with context.unit_of_work() as db:
        setup = await apply_card_setup(
            db=db, provider=provider.name, setup=found, now=context.clock.now()
        )
        await db.commit()
    if setup is None:
        raise NotFound(kind="card setup", key=setup_id)
    return setup


async def apply_card_setup(
    *, db: AsyncSession, provider: str, setup: ProviderCardSetup, now: datetime
) -> CardSetup | None:
    """Bring our set-up in line with the provider's (idempotent; a final state stays): a
    succeeded set-up's method stored once, as the driver's default."""
    # Locked: the return page and the webhook may apply the same set-up at the same time.
    ours = await CardSetupRepository(db).by_provider_id(
        provider=provider, setup_id=setup.id, lock=True
    )
    if ours is None:
        return None
    if ours.status != CardSetupStatus.PENDING.value or setup.status is CardSetupStatus.PENDING:
        return ours
    if setup.status is CardSetupStatus.SUCCEEDED and setup.method is not None:
        method = await save_method(
            db=db,
            provider=provider,
            operator_id=ours.operator_id,
            driver_id=ours.driver_id,
            setup=setup,
            now=now,
        )
        ours.method_id = method.id
    ours.status = setup.status.value
    ours.updated_at = now
    await db.flush()
    return ours


async def save_method(
    *,
    db: AsyncSession,
    provider: str,
    operator_id: int,
    driver_id: int,
    setup: ProviderCardSetup,
    now: datetime,
) -> PaymentMethod:
    assert setup.method is not None
    methods = MethodRepository(db)
    existing = await methods.by_token(provider=provider, token=setup.method.id)
    if existing is not None:
        return existing
    await methods.clear_default(driver_id=driver_id)
    saved = setup.method
    method = methods.add(
        PaymentMethod(
            operator_id=operator_id,
            driver_id=driver_id,
            provider=provider,
            provider_customer_id=saved.customer_id,
            provider_method_id=saved.id,
            brand=saved.brand[:20],
            last4=saved.last4[-4:],
            exp_month=saved.exp_month,
            exp_year=saved.exp_year,
            wallet=saved.wallet,
            is_default=True,
            created_at=now,
        )
    )
    await methods.flush()
    return method


async def list_methods(
    *, db: AsyncSession, operator_id: int, driver_id: int
) -> list[PaymentMethod]:
    await drivers.get_driver(db=db, operator_id=operator_id, driver_id=driver_id)
    return list(await MethodRepository(db).for_driver(operator_id=operator_id, driver_id=driver_id))
