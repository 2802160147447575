"""The SQL of locations; reads are scoped to the operator."""

from __future__ import annotations

from evbilling.infra.db.repository import OffsetPage, RepositoryBase
from evbilling.models import Location


class LocationRepository(RepositoryBase[Location]):
    model = Location
    kind = "location"

    async def list(self, *, operator_id: int, limit: int, offset: int) -> OffsetPage[Location]:
        return await self.page(self.select_owned(owner_id=operator_id), limit=limit, offset=offset)
