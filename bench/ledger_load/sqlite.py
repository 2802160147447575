"""SQLite: one writer, one transfer per commit; the service and the raw sqlite3 peer take
turns in rounds."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bench.ledger_load.common import CURRENCY, NOW, Tally, _difference, _lines, _ratio
from evbilling.infra.db.engine import create_engine, create_session_factory
from evbilling.infra.db.migrate import upgrade
from evbilling.ledger import service as ledger
from evbilling.ledger.domain import AccountRef, build_entry


def _sync(mode: str) -> Callable[[Any, Any], None]:
    def set_mode(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA synchronous={mode}")
        cursor.close()

    return set_mode


class SqliteService:
    def __init__(self, path: Path, *, synchronous: str) -> None:
        self.url = f"sqlite+aiosqlite:///{path}"
        self.synchronous = synchronous
        self.count = 0

    async def open(self) -> None:
        await asyncio.to_thread(upgrade, url=self.url)
        self.engine = create_engine(url=self.url)
        event.listen(self.engine.sync_engine, "connect", _sync(self.synchronous))
        self.sessions = create_session_factory(self.engine)

    async def run(self, seconds: float, tally: Tally) -> None:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            async with self.sessions() as db:
                await ledger.post_entry(
                    db=db,
                    draft=build_entry(
                        reference=f"t{self.count}",
                        description="bench",
                        lines=_lines(self.count, hot=False),
                    ),
                    now=NOW,
                )
                await db.commit()
            self.count += 1
            tally.transfers += 1
        tally.seconds += time.perf_counter() - start

    async def close(self) -> dict[str, Any]:
        async with self.engine.connect() as connection:
            sync = (await connection.execute(text("PRAGMA synchronous"))).scalar()
        difference = await _difference(self.engine)
        await self.engine.dispose()
        return {
            "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(int(sync or 0)),
            "trial_balance_difference": difference,
        }


class SqliteRaw:
    """The same statements through the sqlite3 module, the same pragmas and triggers."""

    def __init__(self, path: Path, *, synchronous: str) -> None:
        self.path = path
        self.synchronous = synchronous
        self.count = 0
        self.accounts: dict[tuple[str, str], int] = {}
        self.at = NOW.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    async def open(self) -> None:
        await asyncio.to_thread(upgrade, url=f"sqlite+aiosqlite:///{self.path}")
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", f"synchronous={self.synchronous}", "foreign_keys=ON"):
            self.connection.execute(f"PRAGMA {pragma}")

    def _account(self, ref: AccountRef) -> int:
        key = (ref.kind.value, ref.scope)
        if key not in self.accounts:
            self.accounts[key] = int(
                self.connection.execute(
                    "INSERT INTO ledger_accounts (kind, currency, scope, created_at) "
                    "VALUES (?, ?, ?, ?) RETURNING id",
                    (ref.kind.value, ref.currency, ref.scope, self.at),
                ).fetchone()[0]
            )
        return self.accounts[key]

    def run(self, seconds: float, tally: Tally) -> None:
        start = time.perf_counter()
        connection = self.connection
        while time.perf_counter() - start < seconds:
            lines = _lines(self.count, hot=False)
            ids = [self._account(line.account) for line in lines]
            connection.execute("BEGIN")
            entry = connection.execute(
                "INSERT INTO ledger_entries (reference, kind, description, created_at) "
                "VALUES (?, 'transfer', 'bench', ?) ON CONFLICT (reference) DO NOTHING "
                "RETURNING id",
                (f"t{self.count}", self.at),
            ).fetchone()[0]
            connection.executemany(
                "INSERT INTO ledger_lines (entry_id, account_id, currency, amount_minor) "
                "VALUES (?, ?, ?, ?)",
                [(entry, i, CURRENCY, x.amount_minor) for i, x in zip(ids, lines, strict=True)],
            )
            connection.execute(
                "SELECT currency FROM ledger_lines WHERE entry_id = ? "
                "GROUP BY currency HAVING sum(amount_minor) <> 0",
                (entry,),
            ).fetchall()
            connection.execute("COMMIT")
            self.count += 1
            tally.transfers += 1
        tally.seconds += time.perf_counter() - start


async def _sqlite(
    directory: Path, *, seconds: float, rounds: int, synchronous: str
) -> dict[str, Any]:
    service, raw = (
        SqliteService(directory / "service.sqlite3", synchronous=synchronous),
        SqliteRaw(directory / "raw.sqlite3", synchronous=synchronous),
    )
    await service.open()
    await raw.open()
    service_tally, raw_tally = Tally(), Tally()
    for _ in range(rounds):
        await service.run(seconds / rounds, service_tally)
        raw.run(seconds / rounds, raw_tally)
    checks = await service.close()
    raw.connection.close()
    return {
        **service_tally.figures(),
        **checks,
        "raw_sqlite3": raw_tally.figures(),
        "service_vs_raw": _ratio(service_tally, raw_tally),
    }
