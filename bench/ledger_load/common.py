"""What both databases' rounds share: the transfer booked, and the tally of a run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from evbilling.ledger.domain import AccountRef, Line

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


@dataclass
class Tally:
    transfers: int = 0
    seconds: float = 0.0
    deadlocks: int = 0
    other_failures: int = 0

    def figures(self) -> dict[str, Any]:
        return {
            "transfers": self.transfers,
            "transfers_per_second": _rate(self.transfers, self.seconds),
        }


def _ratio(service: Tally, raw: Tally) -> float:
    return round(service.transfers / service.seconds / (raw.transfers / raw.seconds), 2)


# ---------------------------------------------------------------------------------------------
# SQLite: the service and the raw peer take turns, so both see the same machine.


SYNCHRONOUS = ("FULL", "NORMAL", "OFF")


async def _difference(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        total = (
            await connection.execute(
                text("SELECT coalesce(sum(amount_minor), 0) FROM ledger_lines")
            )
        ).scalar()
    return int(total or 0)
