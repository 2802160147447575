"""Ledger throughput: balanced transfers booked through the real service (`post_entry`), one
transfer per committed transaction, beside the same inserts done with the raw driver.

- SQLite (a temporary file, WAL, synchronous=FULL): one writer, transfers in sequence.
- PostgreSQL (a throw-away database created and dropped here): 8 concurrent clients, first
  between many accounts, then the hot-account case where every transfer credits ONE revenue
  account. Deadlocks and serialization failures are counted (each would be a failed
  transfer); afterwards the trial balance must be zero and no balance-guarded account may
  be negative (the check query counts wallets below zero; this run books none).

Prints one JSON object. Run: .venv/bin/python bench/ledger.py [--seconds S]
[--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.migrate import upgrade
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, Line, build_entry

CLIENTS = 8
DRIVERS = 1000
LOCATIONS = 50
CURRENCY = "EUR"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _lines(number: int, *, hot: bool) -> tuple[Line, ...]:
    """A sale: Dr a driver's receivable / Cr revenue (one account when hot)."""
    amount = 100 + number % 900
    location = 0 if hot else number % LOCATIONS
    return (
        Line(AccountRef.driver_receivable(driver_id=number % DRIVERS, currency=CURRENCY), amount),
        Line(AccountRef.revenue(operator_id=1, location_id=location, currency=CURRENCY), -amount),
    )


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


# ---------------------------------------------------------------------------------------------
# SQLite


def _full_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


async def _sqlite_service(path: Path, *, seconds: float) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url=url)
    engine = create_engine(url=url)
    event.listen(engine.sync_engine, "connect", _full_sync)
    sessions = create_session_factory(engine)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        async with sessions() as db:
            await ledger.post_entry(
                db=db,
                draft=build_entry(
                    reference=f"t{count}", description="bench", lines=_lines(count, hot=False)
                ),
                now=NOW,
            )
            await db.commit()
        count += 1
    elapsed = time.perf_counter() - start
    async with engine.connect() as connection:
        sync = (await connection.execute(text("PRAGMA synchronous"))).scalar()
    difference = await _difference(engine)
    await engine.dispose()
    return {
        "transfers": count,
        "transfers_per_second": _rate(count, elapsed),
        "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(int(sync or 0)),
        "trial_balance_difference": difference,
    }


def _sqlite_raw(path: Path, *, seconds: float) -> dict[str, Any]:
    upgrade(url=f"sqlite+aiosqlite:///{path}")
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    accounts: dict[tuple[str, str], int] = {}
    at = NOW.replace(tzinfo=None).isoformat(sep=" ")

    def account(ref: AccountRef) -> int:
        key = (ref.kind.value, ref.scope)
        if key not in accounts:
            connection.execute(
                "INSERT INTO ledger_accounts (kind, currency, scope, created_at) VALUES (?,?,?,?)",
                (ref.kind.value, ref.currency, ref.scope, at),
            )
            accounts[key] = int(connection.execute("SELECT last_insert_rowid()").fetchone()[0])
        return accounts[key]

    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        lines = _lines(count, hot=False)
        ids = [account(line.account) for line in lines]
        connection.execute("BEGIN")
        entry = connection.execute(
            "INSERT INTO ledger_entries (reference, kind, description, created_at) "
            "VALUES (?, 'transfer', 'bench', ?) RETURNING id",
            (f"t{count}", at),
        ).fetchone()[0]
        connection.executemany(
            "INSERT INTO ledger_lines (entry_id, account_id, currency, amount_minor) "
            "VALUES (?, ?, ?, ?)",
            [(entry, i, CURRENCY, line.amount_minor) for i, line in zip(ids, lines, strict=True)],
        )
        connection.execute("COMMIT")
        count += 1
    elapsed = time.perf_counter() - start
    connection.close()
    return {"transfers": count, "transfers_per_second": _rate(count, elapsed)}


# ---------------------------------------------------------------------------------------------
# PostgreSQL


@dataclass
class Tally:
    transfers: int = 0
    deadlocks: int = 0
    other_failures: int = 0


def _is_deadlock(exc: BaseException) -> bool:
    chain: BaseException | None = exc
    while chain is not None:
        code = getattr(chain, "sqlstate", None) or getattr(chain, "pgcode", None)
        if code in ("40P01", "40001"):
            return True
        chain = chain.__cause__ or getattr(chain, "orig", None)
        if chain is exc:
            break
    return "deadlock" in str(exc).lower()


async def _clients(
    work: Callable[[int, int], Awaitable[None]], *, seconds: float
) -> tuple[Tally, float]:
    tally = Tally()
    start = time.perf_counter()
    deadline = start + seconds

    async def client(number: int) -> None:
        sequence = 0
        while time.perf_counter() < deadline:
            try:
                await work(number, sequence)
                tally.transfers += 1
            except Exception as exc:  # counted, then reported
                if _is_deadlock(exc):
                    tally.deadlocks += 1
                else:
                    tally.other_failures += 1
                    if tally.other_failures == 1:
                        print(f"failure: {exc!r}", file=sys.stderr)
            sequence += 1

    await asyncio.gather(*(client(number) for number in range(CLIENTS)))
    return tally, time.perf_counter() - start


async def _postgres_service(url: str, *, seconds: float, hot: bool, tag: str) -> dict[str, Any]:
    engine = create_engine(url=url)
    sessions = create_session_factory(engine)

    async def transfer(client: int, sequence: int) -> None:
        number = sequence * CLIENTS + client
        async with sessions() as db:
            await ledger.post_entry(
                db=db,
                draft=build_entry(
                    reference=f"{tag}:{client}:{sequence}",
                    description="bench",
                    lines=_lines(number, hot=hot),
                ),
                now=NOW,
            )
            await db.commit()

    # Warm up: the accounts exist and their ids are cached, as in a running server.
    async with sessions() as db:
        for number in range(max(DRIVERS, LOCATIONS)):
            await ledger.post_entry(
                db=db,
                draft=build_entry(
                    reference=f"{tag}:warm:{number}",
                    description="bench",
                    lines=_lines(number, hot=hot),
                ),
                now=NOW,
            )
        await db.commit()
    tally, elapsed = await _clients(transfer, seconds=seconds)
    await engine.dispose()
    return {
        "transfers": tally.transfers,
        "transfers_per_second": _rate(tally.transfers, elapsed),
        "deadlock_failures": tally.deadlocks,
        "other_failures": tally.other_failures,
    }


async def _postgres_raw(dsn: str, *, seconds: float, hot: bool, tag: str) -> dict[str, Any]:
    pool = await asyncpg.create_pool(dsn, min_size=CLIENTS, max_size=CLIENTS)
    accounts: dict[tuple[str, str], int] = {}
    async with pool.acquire() as connection:
        for row in await connection.fetch("SELECT id, kind, scope FROM ledger_accounts"):
            accounts[(row["kind"], row["scope"])] = row["id"]

    async def transfer(client: int, sequence: int) -> None:
        lines = _lines(sequence * CLIENTS + client, hot=hot)
        ids = [accounts[(line.account.kind.value, line.account.scope)] for line in lines]
        async with pool.acquire() as connection, connection.transaction():
            entry = await connection.fetchval(
                "INSERT INTO ledger_entries (reference, kind, description, created_at) "
                "VALUES ($1, 'transfer', 'bench', $2) RETURNING id",
                f"{tag}:{client}:{sequence}",
                NOW,
            )
            await connection.executemany(
                "INSERT INTO ledger_lines (entry_id, account_id, currency, amount_minor) "
                "VALUES ($1, $2, $3, $4)",
                [
                    (entry, i, CURRENCY, line.amount_minor)
                    for i, line in zip(ids, lines, strict=True)
                ],
            )

    tally, elapsed = await _clients(transfer, seconds=seconds)
    await pool.close()
    return {
        "transfers": tally.transfers,
        "transfers_per_second": _rate(tally.transfers, elapsed),
        "deadlock_failures": tally.deadlocks,
    }


async def _difference(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        total = (
            await connection.execute(
                text("SELECT coalesce(sum(amount_minor), 0) FROM ledger_lines")
            )
        ).scalar()
    return int(total or 0)


async def _overdrafts(engine: AsyncEngine) -> int:
    """Balance-guarded accounts (wallets) below zero."""
    async with engine.connect() as connection:
        found = (
            await connection.execute(
                text(
                    "SELECT count(*) FROM (SELECT a.id FROM ledger_accounts a "
                    "JOIN ledger_lines l ON l.account_id = a.id WHERE a.kind = 'wallet' "
                    "GROUP BY a.id HAVING sum(l.amount_minor) < 0) negative"
                )
            )
        ).scalar()
    return int(found or 0)


async def _admin(url: str, statement: str) -> None:
    engine = create_engine(url=url)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))
    await engine.dispose()


async def _postgres(admin_url: str, *, seconds: float) -> dict[str, Any]:
    name = f"evbilling_bench_{uuid.uuid4().hex[:10]}"
    base = make_url(admin_url)
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url=url)
        spread = await _postgres_service(url, seconds=seconds, hot=False, tag="spread")
        hot = await _postgres_service(url, seconds=seconds, hot=True, tag="hot")
        dsn = base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
        raw_spread = await _postgres_raw(dsn, seconds=seconds, hot=False, tag="raw")
        raw_hot = await _postgres_raw(dsn, seconds=seconds, hot=True, tag="rawhot")
        engine = create_engine(url=url)
        difference = await _difference(engine)
        overdrafts = await _overdrafts(engine)
        await engine.dispose()
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "clients": CLIENTS,
        "transfers_per_second": spread["transfers_per_second"],
        "hot_account_transfers_per_second": hot["transfers_per_second"],
        "deadlock_failures": spread["deadlock_failures"] + hot["deadlock_failures"],
        "overdrafts": overdrafts,
        "other_failures": spread["other_failures"] + hot["other_failures"],
        "trial_balance_difference": difference,
        "raw_asyncpg": {
            "transfers_per_second": raw_spread["transfers_per_second"],
            "hot_account_transfers_per_second": raw_hot["transfers_per_second"],
        },
        "service_vs_raw": round(
            spread["transfers_per_second"] / raw_spread["transfers_per_second"], 2
        ),
        "hot_service_vs_raw": round(
            hot["transfers_per_second"] / raw_hot["transfers_per_second"], 2
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        service = asyncio.run(
            _sqlite_service(Path(directory) / "service.sqlite3", seconds=args.seconds)
        )
        raw = _sqlite_raw(Path(directory) / "raw.sqlite3", seconds=args.seconds)
    result: dict[str, Any] = {
        "benchmark": "ledger_transfers",
        "transfer": "2 lines (Dr driver receivable / Cr revenue), one per commit",
        "sqlite": {
            **service,
            "raw_sqlite3": raw,
            "service_vs_raw": round(
                service["transfers_per_second"] / raw["transfers_per_second"], 2
            ),
        },
    }
    if not args.no_postgres:
        result["postgres"] = asyncio.run(_postgres(args.postgres, seconds=args.seconds))
    result["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }
    result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
