"""The operator's policy for tokens linked to nobody, and a driver's payment preference
(docs/payment-choice.md): the use cases behind the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.repository import OperatorRepository
from evbilling.drivers.repository import DriverRepository
from evbilling.kit import EVBillingError, InvalidRequest, NotFound
from evbilling.models import Operator
from evbilling.money import Money
from evbilling.payments.choice import fee_of, policy_of
from evbilling.payments.choice_rules import Preference, UnlinkedPolicy

# The largest fixed fee, in currency units (a typo of 2000 for 2.00 is refused).
MAX_FEE = Decimal(1000)


@dataclass(frozen=True, slots=True)
class PaymentPolicy:
    unlinked: UnlinkedPolicy
    fee_amount: Decimal | None
    fee_currency: str | None


def _view(operator: Operator) -> PaymentPolicy:
    fee = fee_of(operator)
    return PaymentPolicy(
        unlinked=policy_of(operator),
        fee_amount=fee.amount if fee is not None else None,
        fee_currency=fee.currency if fee is not None else None,
    )


async def _operator(db: AsyncSession, operator_id: int, *, lock: bool = False) -> Operator:
    operators = OperatorRepository(db)
    row = (
        await operators.get_for_update(id=operator_id)
        if lock
        else await operators.get(id=operator_id)
    )
    if row is None:
        raise NotFound(kind="operator", key=operator_id)
    return row


async def get_policy(*, db: AsyncSession, operator_id: int) -> PaymentPolicy:
    return _view(await _operator(db, operator_id))


def parse_fee(amount: Decimal, currency: str) -> Money:
    """A fixed fee: a positive amount up to MAX_FEE, exact in the currency's minor units."""
    try:
        fee = Money.of(amount, currency)
        fee.minor_units()
    except (EVBillingError, ArithmeticError) as exc:
        raise InvalidRequest(f"not a fee: {exc}", field="fee_amount") from exc
    if not fee.amount.is_finite() or fee.amount <= 0 or fee.amount > MAX_FEE:
        raise InvalidRequest(f"a fee must be more than 0 and at most {MAX_FEE}", field="fee_amount")
    return fee


async def set_policy(
    *,
    db: AsyncSession,
    operator_id: int,
    unlinked: str,
    now: datetime,
    fee_amount: Decimal | None = None,
    fee_currency: str | None = None,
) -> PaymentPolicy:
    """Change the policy; a fee given is kept (also for another policy, for later), a fixed-fee
    policy needs one. A refused change changes nothing."""
    try:
        policy = UnlinkedPolicy(unlinked)
    except ValueError as exc:
        choices = ", ".join(p.value for p in UnlinkedPolicy)
        raise InvalidRequest(f"must be one of {choices}", field="unlinked") from exc
    if (fee_amount is None) != (fee_currency is None):
        raise InvalidRequest("a fee needs both its amount and its currency", field="fee_amount")
    fee = parse_fee(fee_amount, fee_currency) if fee_amount is not None and fee_currency else None
    operator = await _operator(db, operator_id, lock=True)
    if policy is UnlinkedPolicy.FIXED_FEE and fee is None and fee_of(operator) is None:
        raise InvalidRequest("a fixed-fee policy needs a fee", field="fee_amount")
    operator.unlinked_token_policy = policy.value
    if fee is not None:
        operator.unlinked_token_fee_minor = fee.minor_units()
        operator.unlinked_token_fee_currency = fee.currency
    await db.flush()
    return _view(operator)


async def get_preference(*, db: AsyncSession, operator_id: int, driver_id: int) -> str | None:
    driver = await DriverRepository(db).get_owned(id=driver_id, owner_id=operator_id)
    return driver.payment_preference


async def set_preference(
    *, db: AsyncSession, operator_id: int, driver_id: int, preference: str | None, now: datetime
) -> str | None:
    """A driver's preference (None: the default order); another operator's driver is not
    found."""
    chosen: Preference | None = None
    if preference is not None:
        try:
            chosen = Preference(preference)
        except ValueError as exc:
            choices = ", ".join(p.value for p in Preference)
            raise InvalidRequest(f"must be one of {choices}", field="preference") from exc
    driver = await DriverRepository(db).get_owned_for_update(id=driver_id, owner_id=operator_id)
    driver.payment_preference = chosen.value if chosen is not None else None
    driver.updated_at = now
    await db.flush()
    return driver.payment_preference
