"""What a payment whose provider answer was lost really came to, read from the provider's own
object: retrieved by its id, or found by our reference when even the authorization's answer
was lost. A hold that is still only held is released (its cancel call stored and committed
first), so the payment it belonged to can be failed without charging anyone. Used by the
settlement of wallet top-ups and of statement card payments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.infra.context import ServiceContext
from evbilling.payments.calls import finish_call, latest_call, store_call
from evbilling.payments.domain import CallState
from evbilling.payments.psp import Authorization, AuthorizationStatus, PaymentProvider

OPERATIONS = ("authorize", "capture", "cancel")


async def settled_object(
    *,
    context: ServiceContext,
    provider: PaymentProvider,
    subject: str,
    authorization_id: str | None,
) -> Authorization | None:
    """The provider's object of `subject` (our reference), with a mere hold released; None
    when the provider never saw it. Raises OutcomeUnknown / ProviderError when the provider
    does not answer: the caller tries again later."""
    found = (
        await provider.retrieve_authorization(authorization_id=authorization_id)
        if authorization_id is not None
        else await provider.find_authorization(reference=subject)
    )
    if found is None or found.status is not AuthorizationStatus.AUTHORIZED:
        return found
    async with context.unit_of_work() as db:
        call = await store_call(
            db=db,
            provider=provider.name,
            operation="cancel",
            subject=subject,
            now=context.clock.now(),
        )
        key = call.idempotency_key
        await db.commit()
    return await provider.cancel(idempotency_key=key, authorization_id=found.id)


async def close_open_calls(
    db: AsyncSession, *, subject: str, found: Authorization | None, now: datetime
) -> None:
    """The subject's calls still open end as the provider's object says: succeeded when it
    exists, failed when the provider never saw it."""
    for operation in OPERATIONS:
        call = await latest_call(db=db, subject=subject, operation=operation)
        if call is not None and CallState(call.state).open:
            finish_call(
                call,
                state=CallState.SUCCEEDED if found is not None else CallState.FAILED,
                object_id=found.id if found is not None else None,
                error=None if found is not None else "not found at the provider",
                now=now,
            )
