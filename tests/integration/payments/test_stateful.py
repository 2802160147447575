"""A stateful property test of card payments: any sequence of authorize / increment /
capture / refund / void / webhook-replay keeps the trial balance at zero, every account's
balance equal to the sum of its lines, and the provider's view of every hold (retrieved from
the sandbox, over ASGI) equal to ours."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from evbilling.access.service import ensure_operator
from evbilling.infra.context import ServiceContext
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.kit import FixedClock
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountKind, AccountRef
from evbilling.models import LedgerAccount, LedgerEntry, LedgerLine, Payment
from evbilling.money import Money
from evbilling.payments import holds, refunds
from evbilling.payments.capture import SettlementPending, settle_session
from evbilling.payments.card_flow import attach_session
from evbilling.payments.errors import NotRefundable, RefundTooLarge
from evbilling.payments.psp import AuthorizationStatus
from evbilling.payments.psp.sandbox import SIGNATURE_HEADER
from evbilling.payments.psp.signatures import signature_header
from tests.conftest import START
from tests.integration.arrange import add_driver, add_station, add_tariff
from tests.integration.payments.support import (
    PARTIAL,
    SUCCESS,
    WEBHOOK_SECRET,
    Payments,
    complete_session,
    running_payments,
    start_session,
)

_STATUS = {
    AuthorizationStatus.AUTHORIZED: "authorized",
    AuthorizationStatus.CAPTURED: "captured",
    AuthorizationStatus.CANCELED: "released",
    AuthorizationStatus.FAILED: "failed",
}


def machine(template: Path, folder: Path) -> type[RuleBasedStateMachine]:
    class PaymentsMachine(RuleBasedStateMachine):
        held = Bundle("held")  # (payment id, session id): authorized, session running
        settled = Bundle("settled")  # payment ids whose session was settled

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.stack = AsyncExitStack()
            self.stations = 0
            self.events: list[dict[str, Any]] = []
            self.p: Payments = self.run(self._start())

        def run(self, work: Any) -> Any:
            return self.loop.run_until_complete(work)

        async def _start(self) -> Payments:
            run_dir = folder / uuid.uuid4().hex[:8]
            run_dir.mkdir()
            database = run_dir / "evbilling.sqlite3"
            shutil.copyfile(template, database)
            engine = create_engine(url=f"sqlite+aiosqlite:///{database}")
            self.stack.push_async_callback(engine.dispose)
            clock = FixedClock(current=START)
            context = ServiceContext(session_factory=create_session_factory(engine), clock=clock)
            async with context.unit_of_work() as db:
                operator_id = await ensure_operator(db=db, name="Op", now=clock.now())
                await db.commit()
            payments = await self.stack.enter_async_context(
                running_payments(
                    context=context, clock=clock, tmp_path=run_dir, operator_id=operator_id
                )
            )
            self.tariff = await add_tariff(context, operator_id, price="0.40", is_default=True)
            self.drivers = [await add_driver(context, operator_id) for _ in range(2)]
            await payments.save_card(self.drivers[0], SUCCESS)
            await payments.save_card(self.drivers[1], PARTIAL)
            return payments

        def teardown(self) -> None:
            self.run(self.stack.aclose())
            self.loop.close()

        # -- rules ------------------------------------------------------------------------

        @rule(target=held, driver=st.integers(min_value=0, max_value=1))
        def authorize(self, driver: int) -> Any:
            return self.run(self._authorize(self.drivers[driver]))

        async def _authorize(self, driver_id: int) -> Any:
            p = self.p
            self.stations += 1
            station = await add_station(
                p.context, p.operator_id, identity=f"CP-{self.stations}", tariff_id=self.tariff
            )
            decision = await p.hold(driver_id=driver_id, station_id=station.station.id)
            if not decision.accepted:
                return multiple()
            session_id = await start_session(
                p.context,
                operator_id=p.operator_id,
                station_id=station.station.id,
                driver_id=driver_id,
            )
            async with p.context.unit_of_work() as db:
                await attach_session(db=db, session_id=session_id, now=p.clock.now())
                await db.commit()
            return (decision.hold_id, session_id)

        @rule(hold=held, extra=st.integers(min_value=1, max_value=3000))
        def increment(self, hold: tuple[int, int], extra: int) -> None:
            self.run(self._increment(hold[0], extra))

        async def _increment(self, hold_id: int, extra: int) -> None:
            payment = await self._payment(hold_id)
            if payment.status != "authorized":
                return
            new_total = Money.from_minor_units(payment.authorized_minor + extra, "EUR")
            try:
                await holds.increment_hold(
                    context=self.p.context,
                    provider=self.p.runtime.provider,
                    hold_id=hold_id,
                    new_total=new_total,
                )
            except holds.HoldNotIncreased:
                assert (await self._payment(hold_id)).authorized_minor == payment.authorized_minor

        @rule(target=settled, hold=consumes(held), total=st.integers(min_value=1, max_value=6000))
        def capture(self, hold: tuple[int, int], total: int) -> int:
            self.run(self._settle(hold, total))
            return hold[0]

        @rule(target=settled, hold=consumes(held))
        def void(self, hold: tuple[int, int]) -> int:
            self.run(self._settle(hold, 0))
            return hold[0]

        async def _settle(self, hold: tuple[int, int], total: int) -> None:
            text = str(Money.from_minor_units(total, "EUR").amount)
            await complete_session(self.p.context, session_id=hold[1], total=text)
            for _ in range(3):
                try:
                    await settle_session(
                        context=self.p.context,
                        provider=self.p.runtime.provider,
                        session_id=hold[1],
                    )
                    break
                except SettlementPending:
                    continue
            assert (await self._payment(hold[0])).status in ("captured", "released")

        @rule(payment=settled, amount=st.integers(min_value=1, max_value=3000))
        def refund(self, payment: int, amount: int) -> None:
            self.run(self._refund(payment, amount))

        async def _refund(self, payment_id: int, amount: int) -> None:
            before = await self._payment(payment_id)
            try:
                await refunds.request_refund(
                    context=self.p.context,
                    provider=self.p.runtime.provider,
                    operator_id=self.p.operator_id,
                    payment_id=payment_id,
                    amount=Money.from_minor_units(amount, "EUR").amount,
                    reason="property",
                )
            except (RefundTooLarge, NotRefundable):
                assert amount > before.captured_minor - before.refunded_minor
                assert (await self._payment(payment_id)).refunded_minor == before.refunded_minor
            else:
                assert (await self._payment(payment_id)).refunded_minor == (
                    before.refunded_minor + amount
                )

        @rule(payment=st.one_of(held.map(lambda h: h[0]), settled), again=st.booleans())
        def webhook_replay(self, payment: int, again: bool) -> None:
            self.run(self._webhook(payment, again))

        async def _webhook(self, payment_id: int, again: bool) -> None:
            row = await self._payment(payment_id)
            assert row.authorization_id is not None
            found = await self.p.runtime.provider.retrieve_authorization(
                authorization_id=row.authorization_id
            )
            if again and self.events:
                event = self.events[-1]
            else:
                event = {
                    "id": f"evt_{uuid.uuid4().hex[:12]}", "object": "event",
                    "type": f"authorization.{found.status.value}", "created": 1_772_442_000,
                    "data": {"object": {"id": found.id, "status": found.status.value}},
                }  # fmt: skip
                self.events.append(event)
            body = json.dumps(event).encode()
            stamp = int(self.p.clock.now().timestamp())
            response = await self.p.http.post(
                "/webhooks/sandbox",
                content=body,
                headers={
                    SIGNATURE_HEADER: signature_header(
                        secret=WEBHOOK_SECRET, timestamp=stamp, payload=body
                    )
                },
            )
            assert response.status_code == 200, response.text

        # -- invariants -------------------------------------------------------------------

        @invariant()
        def ledger_balances(self) -> None:
            self.run(self._ledger_balances())

        async def _ledger_balances(self) -> None:
            async with self.p.context.unit_of_work() as db:
                assert all(row.difference == 0 for row in await ledger.trial_balance(db=db))
                sums = dict(
                    (
                        await db.execute(
                            select(LedgerLine.account_id, func.sum(LedgerLine.amount_minor))
                            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
                            .where(LedgerEntry.kind.not_in(["pending", "void_pending"]))
                            .group_by(LedgerLine.account_id)
                        )
                    ).all()
                )
                for account in (await db.execute(select(LedgerAccount))).scalars():
                    ref = AccountRef(
                        kind=AccountKind(account.kind),
                        currency=account.currency,
                        scope=account.scope,
                    )
                    balance = await ledger.account_balance(db=db, account=ref)
                    assert balance.balance_minor == int(sums.get(account.id) or 0)

        @invariant()
        def provider_agrees(self) -> None:
            self.run(self._provider_agrees())

        async def _provider_agrees(self) -> None:
            async with self.p.context.unit_of_work() as db:
                rows = (await db.execute(select(Payment))).scalars().all()
            for row in rows:
                if row.authorization_id is None:
                    continue
                theirs = await self.p.runtime.provider.retrieve_authorization(
                    authorization_id=row.authorization_id
                )
                status = "refunded" if row.status == "refunded" else row.status
                expected = "captured" if status == "refunded" else status
                assert _STATUS[theirs.status] == expected
                assert theirs.captured.minor_units() == row.captured_minor
                assert theirs.refunded.minor_units() == row.refunded_minor
                if theirs.status is AuthorizationStatus.AUTHORIZED:
                    assert theirs.authorized.minor_units() == row.authorized_minor

        async def _payment(self, payment_id: int) -> Payment:
            async with self.p.context.unit_of_work() as db:
                return await db.get_one(Payment, payment_id)

    return PaymentsMachine


class TestPaymentsStateMachine:
    # About 30 s on an idle machine; a loaded one must not turn slowness into a failure.
    @pytest.mark.timeout(600)
    def test_ledger_and_provider_agree_after_any_sequence(
        self, sqlite_template: Path, tmp_path: Path
    ) -> None:
        run_state_machine_as_test(
            machine(sqlite_template, tmp_path),
            settings=settings(
                max_examples=10,
                stateful_step_count=12,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


pytest.importorskip("hypothesis")
