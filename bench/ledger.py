"""Ledger throughput: balanced transfers booked through the real service (`post_entry`), one
transfer per committed transaction, beside the same inserts done with the raw driver.

- SQLite (a temporary file, WAL, synchronous=FULL unless --sqlite-synchronous says
  otherwise): one writer, transfers in sequence.
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
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ledger_load.common import (
    CLIENTS,
    CURRENCY,
    DRIVERS,
    LOCATIONS,
    NOW,
    SYNCHRONOUS,
    Tally,
    _difference,
    _lines,
)
from bench.ledger_load.sqlite import _sqlite
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.migrate import upgrade
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import build_entry
from evbilling.ledger.repository import LedgerRepository

# ---------------------------------------------------------------------------------------------
# PostgreSQL: 8 concurrent clients; service and raw peer take turns, spread and hot.


def _is_deadlock(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if (getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)) in (
            "40P01",
            "40001",
        ):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return "deadlock" in str(exc).lower()


async def _clients(
    work: Callable[[int, int], Awaitable[None]],
    *,
    clients: int,
    seconds: float,
    tally: Tally,
    first: int,
) -> None:
    start = time.perf_counter()

    async def client(number: int) -> None:
        sequence = first
        while time.perf_counter() - start < seconds:
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

    await asyncio.gather(*(client(number) for number in range(clients)))
    tally.seconds += time.perf_counter() - start


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


CASES = ("spread", "raw_spread", "hot", "raw_hot")


async def _warm_up(url: str) -> None:
    """Every account of the run exists before the clients start, as in a running server."""
    engine = create_engine(url=url)
    async with create_session_factory(engine)() as db:
        for number in range(max(DRIVERS, LOCATIONS)):
            for one_revenue in (False, True):
                await ledger.post_entry(
                    db=db,
                    draft=build_entry(
                        reference=f"warm:{one_revenue}:{number}",
                        description="bench",
                        lines=_lines(number, hot=one_revenue),
                    ),
                    now=NOW,
                )
        await db.commit()
    await engine.dispose()


async def _postgres_rounds(
    url: str,
    dsn: str,
    *,
    seconds: float,
    rounds: int,
    clients: int,
    tag: str,
    wait: Callable[[], Any] | None = None,
) -> dict[str, Tally]:
    """This process's clients: each round, every case in turn (after `wait`, when several
    processes run the cases together)."""
    engine = create_engine(url=url)
    sessions = create_session_factory(engine)
    pool = await asyncpg.create_pool(dsn, min_size=clients, max_size=clients)

    def service(*, hot: bool, case: str) -> Callable[[int, int], Awaitable[None]]:
        async def transfer(client: int, sequence: int) -> None:
            async with sessions() as db:
                await ledger.post_entry(
                    db=db,
                    draft=build_entry(
                        reference=f"{case}:{tag}:{client}:{sequence}",
                        description="bench",
                        lines=_lines(sequence * clients + client, hot=hot),
                    ),
                    now=NOW,
                )
                await db.commit()

        return transfer

    accounts: dict[tuple[str, str], int] = {}

    def raw(*, hot: bool, case: str) -> Callable[[int, int], Awaitable[None]]:
        async def transfer(client: int, sequence: int) -> None:
            lines = _lines(sequence * clients + client, hot=hot)
            ids = [accounts[(x.account.kind.value, x.account.scope)] for x in lines]
            async with pool.acquire() as connection, connection.transaction():
                entry = await connection.fetchval(
                    "INSERT INTO ledger_entries (reference, kind, description, created_at) "
                    "VALUES ($1, 'transfer', 'bench', $2) ON CONFLICT (reference) DO NOTHING "
                    "RETURNING id",
                    f"{case}:{tag}:{client}:{sequence}",
                    NOW,
                )
                await connection.executemany(
                    "INSERT INTO ledger_lines (entry_id, account_id, currency, amount_minor) "
                    "VALUES ($1, $2, $3, $4)",
                    [(entry, i, CURRENCY, x.amount_minor) for i, x in zip(ids, lines, strict=True)],
                )

        return transfer

    async with pool.acquire() as connection:
        for row in await connection.fetch("SELECT id, kind, scope FROM ledger_accounts"):
            accounts[(row["kind"], row["scope"])] = row["id"]
    # This process's account-id cache, warmed as a running server's is.
    async with sessions() as db:
        refs = {
            line.account for n in range(DRIVERS) for h in (False, True) for line in _lines(n, hot=h)
        }
        await LedgerRepository(db).account_ids(refs, now=NOW)
        await db.commit()

    works = {
        "spread": service(hot=False, case="spread"),
        "raw_spread": raw(hot=False, case="raw"),
        "hot": service(hot=True, case="hot"),
        "raw_hot": raw(hot=True, case="rawhot"),
    }
    tallies = {name: Tally() for name in CASES}
    for round_ in range(rounds):
        for name in CASES:
            if wait is not None:
                await asyncio.to_thread(wait)
            await _clients(
                works[name],
                clients=clients,
                seconds=seconds / rounds,
                tally=tallies[name],
                first=round_ * 1_000_000,
            )
    await pool.close()
    await engine.dispose()
    return tallies


def _worker(
    url: str, dsn: str, seconds: float, rounds: int, clients: int, tag: str, barrier: Any
) -> dict[str, tuple[int, float, int, int]]:
    tallies = asyncio.run(
        _postgres_rounds(
            url, dsn, seconds=seconds, rounds=rounds, clients=clients, tag=tag, wait=barrier.wait
        )
    )
    return {
        name: (t.transfers, t.seconds, t.deadlocks, t.other_failures) for name, t in tallies.items()
    }


def _in_processes(
    url: str, dsn: str, *, seconds: float, rounds: int, processes: int
) -> list[dict[str, Tally]]:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(processes)
        with context.Pool(processes) as pool:
            results = pool.starmap(
                _worker,
                [
                    (url, dsn, seconds, rounds, CLIENTS // processes, f"p{index}", barrier)
                    for index in range(processes)
                ],
            )
    return [{name: Tally(*figures) for name, figures in result.items()} for result in results]


def _summary(per_process: list[dict[str, Tally]]) -> dict[str, Any]:
    def rate(name: str) -> float:
        return round(sum(p[name].transfers / p[name].seconds for p in per_process), 1)

    return {
        "transfers_per_second": rate("spread"),
        "hot_account_transfers_per_second": rate("hot"),
        "deadlock_failures": sum(t.deadlocks for p in per_process for t in p.values()),
        "other_failures": sum(t.other_failures for p in per_process for t in p.values()),
        "raw_asyncpg": {
            "transfers_per_second": rate("raw_spread"),
            "hot_account_transfers_per_second": rate("raw_hot"),
        },
        "service_vs_raw": round(rate("spread") / rate("raw_spread"), 2),
        "hot_service_vs_raw": round(rate("hot") / rate("raw_hot"), 2),
    }


async def _postgres(
    admin_url: str, *, seconds: float, rounds: int, processes: int
) -> dict[str, Any]:
    name = f"evbilling_bench_{uuid.uuid4().hex[:10]}"
    base = make_url(admin_url)
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    dsn = base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url=url)
        await _warm_up(url)
        if processes == 1:
            per_process = [
                await _postgres_rounds(
                    url, dsn, seconds=seconds, rounds=rounds, clients=CLIENTS, tag="p0"
                )
            ]
        else:
            per_process = await asyncio.to_thread(
                _in_processes, url, dsn, seconds=seconds, rounds=rounds, processes=processes
            )
        engine = create_engine(url=url)
        checks = {
            "trial_balance_difference": await _difference(engine),
            "overdrafts": await _overdrafts(engine),
        }
        await engine.dispose()
        return {
            "clients": CLIENTS,
            "client_processes": processes,
            **_summary(per_process),
            **checks,
        }
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="per case and peer")
    parser.add_argument("--rounds", type=int, default=5, help="turns service/raw take")
    parser.add_argument(
        "--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument(
        "--processes", type=int, default=1, help="processes the 8 PostgreSQL clients run in"
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=SYNCHRONOUS,
        default="FULL",
        help="FULL is the benchmark; OFF shows the CPU cost without the disk",
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        sqlite_figures = asyncio.run(
            _sqlite(
                Path(directory),
                seconds=args.seconds,
                rounds=args.rounds,
                synchronous=args.sqlite_synchronous,
            )
        )
    result: dict[str, Any] = {
        "benchmark": "ledger_transfers",
        "transfer": "2 lines (Dr driver receivable / Cr revenue) via post_entry, one per commit",
        "sqlite": sqlite_figures,
    }
    if not args.no_postgres:
        result["postgres"] = asyncio.run(
            _postgres(
                args.postgres, seconds=args.seconds, rounds=args.rounds, processes=args.processes
            )
        )
    result["machine"] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }
    result["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
