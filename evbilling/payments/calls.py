"""Provider calls, each stored with its idempotency key before it is made (phase 1 of every
flow that calls a provider), and what an open call may do next.

A call is made with no transaction open (phase 2) and its outcome recorded afterwards
(phase 3). A call left open (pending: the process died; unknown: the answer was lost) is
settled by retrieving the provider's object; it is repeated with the same key only while the
provider still remembers the key (`idempotency_window`), and never blindly after that: the
retrieved object says whether it took effect, and only a call proven not to have happened is
made again, under a new key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.models import ProviderCall
from evbilling.payments.domain import CallState
from evbilling.payments.repository import CallRepository

MAX_ERROR = 500


async def store_call(
    *,
    db: AsyncSession,
    provider: str,
    operation: str,
    subject: str,
    now: datetime,
    amount_minor: int | None = None,
) -> ProviderCall:
    """A new pending call for `subject`, its key numbered after the calls before it
    ("capture:hold:17:2"), so a call that failed is never confused with the next one."""
    calls = CallRepository(db)
    attempt = await calls.count(subject=subject, operation=operation) + 1
    call = calls.add(
        ProviderCall(
            provider=provider,
            operation=operation,
            idempotency_key=f"{operation}:{subject}:{attempt}",
            subject=subject,
            amount_minor=amount_minor,
            state=CallState.PENDING.value,
            created_at=now,
            updated_at=now,
        )
    )
    await calls.flush()
    return call


async def latest_call(*, db: AsyncSession, subject: str, operation: str) -> ProviderCall | None:
    return await CallRepository(db).latest(subject=subject, operation=operation)


async def get_call(*, db: AsyncSession, key: str) -> ProviderCall | None:
    return await CallRepository(db).by_key(key=key)


def finish_call(
    call: ProviderCall,
    *,
    state: CallState,
    now: datetime,
    object_id: str | None = None,
    error: BaseException | str | None = None,
) -> None:
    """Record how the call ended; a call that succeeded stays succeeded."""
    if call.state == CallState.SUCCEEDED.value:
        return
    call.state = state.value
    if object_id is not None:
        call.provider_object_id = object_id
    if error is not None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        call.error = text[:MAX_ERROR]
    call.updated_at = now


def may_repeat(*, call: ProviderCall, now: datetime, window: timedelta) -> bool:
    """Whether the provider still answers this key with the first call's result."""
    return now - call.created_at < window
