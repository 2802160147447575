"""The demo's other ways to pay (`make run`): a driver of the app with printed credentials, a
prepaid wallet with a balance, a fleet's postpaid account, and an EVSE kept free for ad-hoc
payment by QR code. Each step finds what an earlier start made and only refreshes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.drivers import accounts
from evbilling.drivers import service as drivers
from evbilling.drivers.account_repository import DriverAccountRepository
from evbilling.money import Money
from evbilling.postpaid import service as postpaid
from evbilling.stations import evse_service
from evbilling.wallets import service as wallets

# A reserved top-level domain: nothing is ever delivered there.
APP_EMAIL = "alice@demo.evbilling.test"
APP_DRIVER_UID = "04A1B2C3D4"
WALLET_DRIVER_UID = "04E5F6A7B8"
WALLET_CREDIT = Money.of("25.00", "EUR")
FLEET_NAME = "Hafen Logistik GmbH"
FLEET_DRIVER_UID = "04C0FFEE01"
FLEET_CREDIT_LIMIT = Money.of("250.00", "EUR")
# The first station's second connector takes no planned sessions of the simulator: a person
# paying ad hoc at it finds it free.
PAY_CONNECTOR = 2
PAY_EVSE_UID = "DE*DEM*E1*2"


@dataclass(frozen=True, slots=True)
class DemoPayers:
    app_email: str
    app_password: str
    app_driver: str
    wallet_driver: tuple[str, str, Money]  # name, RFID UID, balance
    fleet: tuple[str, Money, str, str]  # account, credit limit, driver name, RFID UID
    pay_evse_uid: str | None


async def _driver_of(db: AsyncSession, *, operator_id: int, uid: str) -> tuple[int, str] | None:
    page = await drivers.list_tokens(db=db, operator_id=operator_id, uid=uid)
    token = page.rows[0] if page.rows else None
    if token is None or token.driver_id is None:
        return None
    driver = await drivers.get_driver(db=db, operator_id=operator_id, driver_id=token.driver_id)
    return driver.id, driver.name


async def _app_account(
    db: AsyncSession, *, operator_id: int, driver_id: int, password_hash: str, now: datetime
) -> None:
    """The app driver's account, with this start's password (hashed before the transaction)."""
    existing = await DriverAccountRepository(db).by_email(APP_EMAIL)
    if existing is None:
        await accounts.open_verified_account(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            email=APP_EMAIL,
            password_hash=password_hash,
            now=now,
        )
    else:
        await accounts.set_password(
            db=db, account_id=existing.id, password_hash=password_hash, now=now
        )


async def _wallet(db: AsyncSession, *, operator_id: int, driver_id: int, now: datetime) -> Money:
    wallet = await wallets.get_wallet(db=db, operator_id=operator_id, driver_id=driver_id)
    if wallet is None:
        await wallets.credit_goodwill(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            amount=WALLET_CREDIT,
            reason="demo: a prepaid balance to charge from",
            actor="demo",
            now=now,
        )
        await drivers.update_driver(
            db=db,
            operator_id=operator_id,
            driver_id=driver_id,
            payment_preference="wallet",
            now=now,
        )
        wallet = await wallets.get_wallet(db=db, operator_id=operator_id, driver_id=driver_id)
        assert wallet is not None, "a goodwill credit opens the wallet"
    return wallet.available


async def _fleet(db: AsyncSession, *, operator_id: int, driver_id: int, now: datetime) -> None:
    page = await postpaid.list_accounts(db=db, operator_id=operator_id, status="active", now=now)
    if any(account.name == FLEET_NAME for account in page.rows):
        return
    account = await postpaid.create_account(
        db=db,
        operator_id=operator_id,
        name=FLEET_NAME,
        currency=FLEET_CREDIT_LIMIT.currency,
        credit_limit=FLEET_CREDIT_LIMIT,
        now=now,
    )
    await postpaid.link_driver(
        db=db, operator_id=operator_id, account_id=account.id, driver_id=driver_id, now=now
    )


async def _pay_evse(
    db: AsyncSession, *, operator_id: int, station_id: int, now: datetime
) -> str | None:
    """The ad-hoc EVSE's id: the first station's PAY_CONNECTOR gets PAY_EVSE_UID once."""
    page = await evse_service.list_evses(db=db, operator_id=operator_id, station=station_id)
    evse = next((e for e in page.rows if e.connector_id == PAY_CONNECTOR), None)
    if evse is None:
        return None
    if evse.uid is None:
        evse = await evse_service.update_evse(
            db=db, operator_id=operator_id, evse_id=evse.id, uid=PAY_EVSE_UID, now=now
        )
    return evse.uid


async def seed_payers(
    *,
    db: AsyncSession,
    operator_id: int,
    first_station_id: int | None,
    app_password: str,
    app_password_hash: str,
    now: datetime,
) -> DemoPayers | None:
    """The demo's app driver, wallet, fleet and ad-hoc EVSE; None when the demo's drivers are
    not there (a database seeded otherwise)."""
    app_driver = await _driver_of(db, operator_id=operator_id, uid=APP_DRIVER_UID)
    wallet_driver = await _driver_of(db, operator_id=operator_id, uid=WALLET_DRIVER_UID)
    fleet_driver = await _driver_of(db, operator_id=operator_id, uid=FLEET_DRIVER_UID)
    if app_driver is None or wallet_driver is None or fleet_driver is None:
        return None
    await _app_account(
        db,
        operator_id=operator_id,
        driver_id=app_driver[0],
        password_hash=app_password_hash,
        now=now,
    )
    balance = await _wallet(db, operator_id=operator_id, driver_id=wallet_driver[0], now=now)
    await _fleet(db, operator_id=operator_id, driver_id=fleet_driver[0], now=now)
    pay_evse = (
        await _pay_evse(db, operator_id=operator_id, station_id=first_station_id, now=now)
        if first_station_id is not None
        else None
    )
    return DemoPayers(
        app_email=APP_EMAIL,
        app_password=app_password,
        app_driver=app_driver[1],
        wallet_driver=(wallet_driver[1], WALLET_DRIVER_UID, balance),
        fleet=(FLEET_NAME, FLEET_CREDIT_LIMIT, fleet_driver[1], FLEET_DRIVER_UID),
        pay_evse_uid=pay_evse,
    )
