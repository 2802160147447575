"""The driver's own payment preference in the app (tag "payments"): how their sessions are
paid (docs/payment-choice.md). Only the signed-in driver's own preference is ever read or
changed."""

from __future__ import annotations

from fastapi import APIRouter

from evbilling.access.driver_caller import CurrentDriver
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import problems
from evbilling.payments import choice_policy
from evbilling.payments.choice_schemas import PaymentPreferenceRead, PaymentPreferenceUpdate

router = APIRouter(tags=["payments"])


@router.get(
    "/me/payment-preference",
    response_model=PaymentPreferenceRead,
    summary="How the driver's sessions are paid",
    responses=problems(),
)
async def get_payment_preference(caller: CurrentDriver, db: Db) -> PaymentPreferenceRead:
    preference = await choice_policy.get_preference(
        db=db, operator_id=caller.operator_id, driver_id=caller.driver_id
    )
    return PaymentPreferenceRead.model_validate({"preference": preference})


@router.put(
    "/me/payment-preference",
    response_model=PaymentPreferenceRead,
    summary="Pay by card, from the wallet or on the postpaid account (null: the default order)",
    responses=problems(),
)
async def put_payment_preference(
    body: PaymentPreferenceUpdate, caller: CurrentDriver, db: Db, context: Context
) -> PaymentPreferenceRead:
    preference = await choice_policy.set_preference(
        db=db,
        operator_id=caller.operator_id,
        driver_id=caller.driver_id,
        preference=body.preference.value if body.preference is not None else None,
        now=context.clock.now(),
    )
    return PaymentPreferenceRead.model_validate({"preference": preference})
