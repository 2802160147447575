"""Any sequence of credits, debits, reservations, settlements and releases keeps the wallet's
invariants: the balance never below zero, the wallet row's cache equal to the ledger (posted
balance = available + reserved, pending = reserved = the live reservations), the trial
balance zero, and each outcome the one a plain model of the wallet predicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from evbilling.infra.context import ServiceContext
from evbilling.kit import Conflict, InvalidRequest
from evbilling.models import ChargingSession
from evbilling.wallets import service as wallets
from evbilling.wallets.domain import WalletLimits
from tests.integration.arrange import add_driver, add_station, add_tariff
from tests.integration.payments.support import start_session
from tests.integration.wallets.support import eur, trial_balance_is_zero, wallet_state

LIMITS = WalletLimits(max_balance=eur("60"))
STATIONS = 2
cents = st.integers(min_value=1, max_value=3000)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("credit"), cents),
        st.tuples(st.just("debit"), cents),
        st.tuples(st.just("reserve"), st.integers(0, STATIONS - 1), cents, st.integers(0, 500)),
        st.tuples(st.just("attach"), st.integers(0, STATIONS - 1)),
        st.tuples(st.just("settle"), st.integers(0, 3000)),
        st.tuples(st.just("release"), st.integers(0, STATIONS - 1)),
    ),
    min_size=1,
    max_size=14,
)


@dataclass
class Model:
    available: int = 0
    reserved: int = 0
    unattached: dict[int, tuple[int, int]] = field(default_factory=dict)  # station -> (id, amount)
    attached: list[tuple[int, int]] = field(default_factory=list)  # (session id, amount)


async def apply(
    context: ServiceContext,
    operation: tuple[Any, ...],
    *,
    model: Model,
    operator_id: int,
    driver_id: int,
    wallet_id: int,
    stations: list[int],
) -> None:
    now = context.clock.now()
    kind = operation[0]
    async with context.unit_of_work() as db:
        if kind == "credit":
            amount = operation[1]
            fits = model.available + model.reserved + amount <= LIMITS.max_balance.minor_units()
            try:
                await wallets.credit_goodwill(
                    db=db,
                    operator_id=operator_id,
                    driver_id=driver_id,
                    amount=eur("0.01").times(amount),
                    reason="property",
                    actor="tests",
                    now=now,
                    limits=LIMITS,
                )
            except InvalidRequest:
                assert not fits
                return
            assert fits
            model.available += amount
        elif kind == "debit":
            amount = operation[1]
            taken = await wallets.debit(
                db=db,
                wallet_id=wallet_id,
                amount=eur("0.01").times(amount),
                reference=f"debit-{now.timestamp()}-{id(operation)}-{model.available}",
                now=now,
            )
            assert taken == (model.available >= amount)
            if taken:
                model.available -= amount
        elif kind == "reserve":
            _, index, wanted, margin = operation
            reservation = await wallets.reserve_for_session(
                db=db,
                operator_id=operator_id,
                driver_id=driver_id,
                station_id=stations[index],
                wanted=eur("0.01").times(wanted),
                margin=eur("0.01").times(margin),
                now=now,
            )
            if index in model.unattached:
                assert reservation is not None
                assert reservation.reservation_id == model.unattached[index][0]
            else:
                expected = min(wanted, model.available)
                if expected <= margin:
                    assert reservation is None
                else:
                    assert reservation is not None
                    assert reservation.amount.minor_units() == expected
                    model.available -= expected
                    model.reserved += expected
                    model.unattached[index] = (reservation.reservation_id, expected)
        elif kind == "attach":
            index = operation[1]
            await db.execute(  # one active session per connector: the earlier one ended
                update(ChargingSession)
                .where(
                    ChargingSession.station_id == stations[index],
                    ChargingSession.status == "active",
                )
                .values(status="completed")
            )
            await db.commit()
            session_id = await start_session(
                context, operator_id=operator_id, station_id=stations[index], driver_id=driver_id
            )
            attached = await wallets.attach_reservation(
                db=db,
                driver_id=driver_id,
                station_id=stations[index],
                session_id=session_id,
                now=now,
            )
            assert attached == (index in model.unattached)
            if attached:
                model.attached.append((session_id, model.unattached.pop(index)[1]))
        elif kind == "settle":
            if not model.attached:
                return
            session_id, amount = model.attached.pop(0)
            posted = await wallets.settle_reservation(
                db=db, session_id=session_id, total=eur("0.01").times(operation[1]), now=now
            )
            assert posted.minor_units() == min(operation[1], amount)
            model.reserved -= amount
            model.available += amount - posted.minor_units()
        elif kind == "release":
            index = operation[1]
            if index not in model.unattached:
                return
            reservation_id, amount = model.unattached.pop(index)
            await wallets.release_reservation(db=db, reservation_id=reservation_id, now=now)
            model.reserved -= amount
            model.available += amount
        await db.commit()


class TestWalletInvariants:
    @settings(
        max_examples=6,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(steps=operations)
    async def test_any_sequence_keeps_the_cache_equal_to_the_ledger(
        self, context: ServiceContext, operator_id: int, steps: list[tuple[Any, ...]]
    ) -> None:
        stations = await site(context, operator_id)
        driver_id = await add_driver(context, operator_id)
        async with context.unit_of_work() as db:
            wallet = await wallets.open_wallet(
                db=db,
                operator_id=operator_id,
                driver_id=driver_id,
                currency="EUR",
                now=context.clock.now(),
            )
            await db.commit()
        model = Model()
        for step in steps:
            try:
                await apply(
                    context,
                    step,
                    model=model,
                    operator_id=operator_id,
                    driver_id=driver_id,
                    wallet_id=wallet.wallet_id,
                    stations=stations,
                )
            except Conflict as exc:  # pragma: no cover - a failure to report
                raise AssertionError(f"{step} refused: {exc}") from exc
            state = await wallet_state(context, wallet.wallet_id)
            assert (state.available, state.reserved) == (model.available, model.reserved)
            assert state.cache_matches_ledger
        assert await trial_balance_is_zero(context)


_SITES: dict[int, list[int]] = {}


async def site(context: ServiceContext, operator_id: int) -> list[int]:
    """The stations of this test's database, made on its first example."""
    key = id(context.session_factory)
    if key not in _SITES:
        tariff_id = await add_tariff(context, operator_id, is_default=True)
        _SITES[key] = [
            (
                await add_station(context, operator_id, identity=f"CP-P{n}", tariff_id=tariff_id)
            ).station.id
            for n in range(STATIONS)
        ]
    return _SITES[key]
