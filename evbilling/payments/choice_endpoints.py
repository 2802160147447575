"""The operator's payment policy for unlinked tokens: `GET|PUT /operator/payment-policy`."""

from __future__ import annotations

from fastapi import APIRouter

from evbilling.access.caller import CurrentCaller
from evbilling.infra.http.deps import Context, Db
from evbilling.infra.http.schemas import problems
from evbilling.payments import choice_policy
from evbilling.payments.choice_schemas import PaymentPolicyRead, PaymentPolicyUpdate

router = APIRouter()


@router.get(
    "/operator/payment-policy",
    response_model=PaymentPolicyRead,
    tags=["payments"],
    summary="What a token linked to nobody may do",
    responses=problems(),
)
async def get_payment_policy(caller: CurrentCaller, db: Db) -> PaymentPolicyRead:
    policy = await choice_policy.get_policy(db=db, operator_id=caller.operator_id)
    return PaymentPolicyRead.model_validate(policy)


@router.put(
    "/operator/payment-policy",
    response_model=PaymentPolicyRead,
    tags=["payments"],
    summary="Refuse unlinked tokens, allow them for free, or for a fixed fee",
    responses=problems(),
)
async def put_payment_policy(
    body: PaymentPolicyUpdate, caller: CurrentCaller, db: Db, context: Context
) -> PaymentPolicyRead:
    policy = await choice_policy.set_policy(
        db=db,
        operator_id=caller.operator_id,
        unlinked=body.unlinked.value,
        fee_amount=body.fee_amount,
        fee_currency=body.fee_currency,
        now=context.clock.now(),
    )
    return PaymentPolicyRead.model_validate(policy)
