"""What every edge needs to run a use case: units of work, the clock, the station link, and
the API-key hasher (the server's secret; no cache of accepted keys, so a revoked key is
refused at once by every server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from evbilling.infra.secrets import ApiKeyHasher
from evbilling.infra.station_link import StationCommandPort, UnconnectedStations
from evbilling.kit import Clock


@dataclass(slots=True)
class ServiceContext:
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    commands: StationCommandPort = field(default_factory=UnconnectedStations)
    # The edges (main, cli, demo) pass the configured one; the default is a random secret of
    # this process only, which no other process can check keys against.
    api_keys: ApiKeyHasher = field(default_factory=ApiKeyHasher.ephemeral)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed by the caller, rolled back if it leaves with an error."""
        async with self.session_factory() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
