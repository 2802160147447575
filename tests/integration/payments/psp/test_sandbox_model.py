"""The sandbox against a model: any sequence of increments, captures, cancels and refunds
leaves the hold where the rules say, never captures more than held nor refunds more than
captured, and its balance transactions add up to what was captured minus refunded."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from evbilling.money import Money
from evbilling.payments.psp import AuthorizationStatus, ProviderError
from tests.integration.payments.psp.sandbox_support import Sandbox

MINIMUM = 50  # EUR 0.50 in cents
_examples = itertools.count()

steps = st.lists(
    st.tuples(
        st.sampled_from(["increment", "capture", "cancel", "refund"]),
        st.one_of(
            st.sampled_from([1, MINIMUM - 1, MINIMUM, 2500, 4999, 5000, 5001]),
            st.integers(min_value=1, max_value=9000),
        ),
    ),
    max_size=6,
)


@dataclass(slots=True)
class Model:
    status: str = "authorized"
    authorized: int = 5000
    captured: int = 0
    refunded: int = 0

    def expect(self, kind: str, amount: int) -> bool:
        """Apply the rule; False when the sandbox must refuse (and change nothing)."""
        if kind == "increment":
            if self.status != "authorized" or amount <= self.authorized:
                return False
            self.authorized = amount
        elif kind == "capture":
            if self.status != "authorized" or not MINIMUM <= amount <= self.authorized:
                return False
            self.status, self.captured = "captured", amount
        elif kind == "cancel":
            if self.status not in ("authorized", "canceled"):
                return False
            self.status = "canceled"
        else:
            if self.status != "captured" or amount > self.captured - self.refunded:
                return False
            self.refunded += amount
        return True


def cents(amount: int) -> Money:
    return Money.from_minor_units(amount, "EUR")


class TestAgainstTheModel:
    @settings(
        max_examples=40,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(steps=steps)
    @example(
        steps=[("capture", 49), ("capture", 50), ("refund", 51), ("refund", 50), ("refund", 1)]
    )
    @example(steps=[("increment", 5000), ("increment", 6000), ("capture", 6001), ("capture", 6000)])
    @example(steps=[("cancel", 1), ("cancel", 1), ("capture", 100), ("increment", 7000)])
    @example(steps=[("capture", 5000), ("cancel", 1), ("refund", 2500), ("refund", 2501)])
    async def test_follows_the_rules(self, sandbox: Sandbox, steps: list[tuple[str, int]]) -> None:
        example = next(_examples)
        start = sandbox.clock.now()
        hold = await sandbox.hold("4242424242424242", "50.00", key=f"hold:{example}")
        model = Model()
        for number, (kind, amount) in enumerate(steps):
            key = f"{kind}:{example}:{number}"
            allowed = model.expect(kind, amount)
            try:
                if kind == "increment":
                    await sandbox.provider.increment(
                        idempotency_key=key, authorization_id=hold.id, new_total=cents(amount)
                    )
                elif kind == "capture":
                    await sandbox.provider.capture(
                        idempotency_key=key, authorization_id=hold.id, amount=cents(amount)
                    )
                elif kind == "cancel":
                    await sandbox.provider.cancel(idempotency_key=key, authorization_id=hold.id)
                else:
                    await sandbox.provider.refund(
                        idempotency_key=key, reference=key, authorization_id=hold.id,
                        amount=cents(amount),
                    )  # fmt: skip
                refused = False
            except ProviderError:
                refused = True
            assert refused is not allowed, (kind, amount, model)
            seen = await sandbox.provider.retrieve_authorization(authorization_id=hold.id)
            assert seen.status is AuthorizationStatus(model.status)
            assert seen.authorized == cents(model.authorized)
            assert seen.captured == cents(model.captured)
            assert seen.refunded == cents(model.refunded)

        captures = await sandbox.captures(hold.id)
        assert captures == ([model.captured] if model.captured else [])
        movements = await sandbox.provider.balance_transactions(
            created_from=start, created_to=start + timedelta(seconds=1)
        )
        mine = [
            m
            for m in movements
            if m.source_id == hold.id or (m.reference or "").startswith(f"refund:{example}:")
        ]
        total = sum((m.amount.amount for m in mine), start=cents(0).amount)
        assert total == cents(model.captured - model.refunded).amount
