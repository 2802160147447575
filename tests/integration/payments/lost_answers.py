"""A real provider whose answer to one operation is lost on the way back, after the provider
acted or before the request reached it: how a network failure looks to the caller."""

from __future__ import annotations

from typing import Any

from evbilling.payments.psp import OutcomeUnknown, PaymentProvider


class LostAnswers:
    """The real provider, but the answer to `operation` is lost: after the provider acted
    (`acted=True`) or before the request reached it."""

    def __init__(self, provider: PaymentProvider, *, operation: str, acted: bool) -> None:
        self._provider = provider
        self._operation = operation
        self._acted = acted

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._provider, name)
        if name != self._operation:
            return real

        async def lost(**kwargs: Any) -> Any:
            if self._acted:
                await real(**kwargs)
            raise OutcomeUnknown(f"the answer to {name} was lost")

        return lost
