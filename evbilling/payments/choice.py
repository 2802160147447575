"""Which way a session is paid: `choose_payment` gathers the facts of a token (or an app
driver) and applies the rule of `choice_rules` (docs/payment-choice.md). It only decides;
securing the route (the card hold, the wallet reservation, the postpaid credit) is the
caller's (the OCPP edge's payment steps, the app's start).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.repository import OperatorRepository
from evbilling.charging.domain import (
    AuthorizationStatus,
    TokenFacts,
    authorize_token,
    normalize_id_tag,
)
from evbilling.drivers.domain import TokenStatus
from evbilling.drivers.repository import DriverRepository, TokenRepository
from evbilling.models import Driver, Operator, Token
from evbilling.money import Money
from evbilling.payments.choice_rules import (
    PaymentRoute,
    Preference,
    RouteFacts,
    TokenState,
    UnlinkedPolicy,
    decide_route,
)
from evbilling.payments.repository import MethodRepository
from evbilling.postpaid import service as postpaid
from evbilling.wallets import service as wallets

__all__ = ["PaymentChoice", "PaymentRoute", "choose_payment", "fee_of", "policy_of"]

_STATES = {
    AuthorizationStatus.ACCEPTED: TokenState.USABLE,
    AuthorizationStatus.BLOCKED: TokenState.BLOCKED,
    AuthorizationStatus.EXPIRED: TokenState.EXPIRED,
    AuthorizationStatus.INVALID: TokenState.UNKNOWN,
}


@dataclass(frozen=True, slots=True)
class PaymentChoice:
    route: PaymentRoute
    reason: str
    driver_id: int | None
    token_id: int | None
    account_id: int | None = None
    # The fee of a FIXED_FEE route (incl. VAT).
    fee: Money | None = None

    @property
    def refused(self) -> bool:
        return self.route is PaymentRoute.REFUSED


def policy_of(operator: Operator) -> UnlinkedPolicy:
    try:
        return UnlinkedPolicy(operator.unlinked_token_policy)
    except ValueError:
        return UnlinkedPolicy.REFUSE  # an unreadable policy lets nobody through


def fee_of(operator: Operator) -> Money | None:
    if operator.unlinked_token_fee_minor is None or operator.unlinked_token_fee_currency is None:
        return None
    return Money.from_minor_units(
        operator.unlinked_token_fee_minor, operator.unlinked_token_fee_currency
    )


async def choose_payment(
    *,
    db: AsyncSession,
    operator_id: int,
    id_tag: str | None = None,
    driver_id: int | None = None,
    now: datetime,
) -> PaymentChoice:
    """How a session of this token (or, without a token, this app driver) of the operator is
    paid, and why. Another operator's token or driver is unknown here (refused)."""
    token: Token | None = None
    state = TokenState.USABLE
    if id_tag is not None:
        token = await TokenRepository(db).by_uid(
            operator_id=operator_id, uid=normalize_id_tag(id_tag)
        )
        facts = (
            None
            if token is None
            else TokenFacts(
                status=TokenStatus(token.status),
                expires_at=token.expires_at,
                has_active_session=False,
            )
        )
        state = _STATES.get(
            authorize_token(token=facts, now=now, starting=False), TokenState.UNKNOWN
        )
        driver_id = token.driver_id if token is not None else None
    token_id = token.id if token is not None else None
    driver: Driver | None = None
    if driver_id is not None:
        driver = await DriverRepository(db).get(id=driver_id)
        if driver is None or driver.operator_id != operator_id:
            state, driver, driver_id = TokenState.UNKNOWN, None, None
    operator = await OperatorRepository(db).get(id=operator_id)
    if state is not TokenState.USABLE or operator is None:
        decision = decide_route(RouteFacts(token_state=state))
        return PaymentChoice(decision.route, decision.reason, driver_id, token_id)
    account_id = await postpaid.account_for(
        db=db, operator_id=operator_id, driver_id=driver_id, token_id=token_id
    )
    wallet_available: Money | None = None
    has_card = False
    preference: Preference | None = None
    if driver is not None:
        wallet = await wallets.get_wallet(db=db, operator_id=operator_id, driver_id=driver.id)
        if wallet is not None and wallet.status == "open":
            wallet_available = wallet.available
        method = await MethodRepository(db).default_for(driver_id=driver.id)
        has_card = method is not None and method.operator_id == operator_id
        if driver.payment_preference is not None:
            preference = Preference(driver.payment_preference)
    decision = decide_route(
        RouteFacts(
            token_state=state,
            driver_id=driver_id,
            preference=preference,
            account_id=account_id,
            wallet_available=wallet_available,
            has_saved_card=has_card,
            policy=policy_of(operator),
            fee=fee_of(operator),
        )
    )
    return PaymentChoice(
        route=decision.route,
        reason=decision.reason,
        driver_id=driver_id,
        token_id=token_id,
        account_id=decision.account_id,
        fee=fee_of(operator) if decision.route is PaymentRoute.FIXED_FEE else None,
    )
