"""Jobs of the driver app: forgetting tokens long expired."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from evbilling.access.app_tokens import prune_app_tokens

PRUNE_TOKENS = "app.prune_tokens"


async def prune_tokens(*, db: AsyncSession, payload: dict[str, Any], now: datetime) -> None:
    await prune_app_tokens(db=db, now=now)
