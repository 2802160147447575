"""What every edge needs to run a use case: units of work, the clock, the station link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from evbilling.infra.secrets import VerifiedSecretCache
from evbilling.infra.station_link import StationCommandPort, UnconnectedStations
from evbilling.kit import Clock


@dataclass(slots=True)
class ServiceContext:
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    commands: StationCommandPort = field(default_factory=UnconnectedStations)
    api_key_cache: VerifiedSecretCache = field(default_factory=VerifiedSecretCache)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed by the caller, rolled back if it leaves with an error."""
        async with self.session_factory() as session:
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
