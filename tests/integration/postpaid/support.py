"""Arrange steps of the postpaid tests: an account with a driver and a fleet card at a priced
station (two VAT rates), and sessions charged there through charging's own use cases
(start, meter, stop, the car leaving), so their amounts are priced as in production."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from evbilling.charging.station_events import StationRef
from evbilling.infra.context import ServiceContext
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef
from evbilling.models import ChargingSession, LedgerEntry
from evbilling.money import Money
from evbilling.postpaid import accrual, service
from tests.factories import create_token
from tests.integration.arrange import add_station, add_tariff
from tests.integration.charging.lifecycle_arrange import meter, start, station_ref, stop
from tests.integration.charging.payment_arrange import components, connector_status

# 0.30/kWh at 19 % VAT + 1.00 per session at 7 %: each session books two VAT rates.
TWO_RATES = components(("ENERGY", "0.30", "19"), ("FLAT", "1.00", "7"))
CARD = "04F1EE7001"


@dataclass(frozen=True, slots=True)
class Site:
    station: StationRef
    driver_id: int
    token_id: int
    card: str
    account_id: int


async def postpaid_site(
    context: ServiceContext,
    operator_id: int,
    *,
    limit: str = "100.00",
    identity: str = "CP-PP-1",
    card: str = CARD,
) -> Site:
    tariff_id = await add_tariff(context, operator_id, ocpi=TWO_RATES, is_default=True)
    created = await add_station(context, operator_id, identity=identity, tariff_id=tariff_id)
    token_id = await create_token(context, operator_id=operator_id, uid=card)
    async with context.unit_of_work() as db:
        account = await service.create_account(
            db=db,
            operator_id=operator_id,
            name="Taxi fleet",
            currency="EUR",
            credit_limit=Money.of(limit, "EUR"),
            now=context.clock.now(),
        )
        await db.commit()
    driver_id = await driver_of_token(context, token_id)
    async with context.unit_of_work() as db:
        await service.link_token(
            db=db,
            operator_id=operator_id,
            account_id=account.id,
            token_id=token_id,
            now=context.clock.now(),
        )
        await db.commit()
    station = await station_ref(context, created.station.id)
    return Site(station, driver_id, token_id, card, account.id)


async def driver_of_token(context: ServiceContext, token_id: int) -> int:
    from evbilling.models import Token

    async with context.unit_of_work() as db:
        token = await db.get_one(Token, token_id)
        assert token.driver_id is not None
        return token.driver_id


async def charged_session(
    context: ServiceContext, site: Site, *, wh: int, minutes: int = 30, at: datetime | None = None
) -> int:
    """A session at the site's station started `at` (now), stopped `minutes` later after `wh`
    and completed when the connector is Available again: priced and final."""
    begin = at or context.clock.now()
    started = await start(context, site.station, card=site.card, at=begin)
    end = begin + timedelta(minutes=minutes)
    await meter(context, site.station, transaction_id=started.transaction_id, wh=wh, at=end)
    await stop(context, site.station, transaction_id=started.transaction_id, wh=wh, at=end)
    await connector_status(
        context, site.station, status="Available", at=end + timedelta(seconds=30)
    )
    assert started.session_id is not None
    return started.session_id


async def accrue(context: ServiceContext, session_id: int) -> None:
    async with context.unit_of_work() as db:
        await accrual.accrue_session(db=db, session_id=session_id, now=context.clock.now())
        await db.commit()


async def session_of(context: ServiceContext, session_id: int) -> ChargingSession:
    async with context.unit_of_work() as db:
        return await db.get_one(ChargingSession, session_id)


async def receivable(context: ServiceContext, account_id: int) -> int:
    async with context.unit_of_work() as db:
        ref = AccountRef.postpaid_receivable(account_id=account_id, currency="EUR")
        return (await ledger.account_balance(db=db, account=ref)).balance_minor


async def entry_count(context: ServiceContext) -> int:
    async with context.unit_of_work() as db:
        return int(await db.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


async def trial_differences(context: ServiceContext) -> list[int]:
    async with context.unit_of_work() as db:
        return [row.difference for row in await ledger.trial_balance(db=db)]
