"""The `app.prune_tokens` job: tokens a day past their expiry are forgotten, live ones kept."""

from __future__ import annotations

from sqlalchemy import func, select

from evbilling.app.jobs import prune_tokens
from evbilling.infra.context import ServiceContext
from evbilling.kit import FixedClock
from evbilling.models import AppAccessToken, AppRefreshToken
from tests.app_support import signed_in_driver


async def token_counts(context: ServiceContext) -> tuple[int, int]:
    async with context.unit_of_work() as db:
        access = await db.scalar(select(func.count()).select_from(AppAccessToken))
        refresh = await db.scalar(select(func.count()).select_from(AppRefreshToken))
    return int(access or 0), int(refresh or 0)


async def prune(context: ServiceContext) -> None:
    async with context.unit_of_work() as db:
        await prune_tokens(db=db, payload={}, now=context.clock.now())
        await db.commit()


class TestTokenPruning:
    async def test_forgets_expired_tokens_a_day_late_and_keeps_live_ones(
        self, context: ServiceContext, clock: FixedClock, operator_id: int
    ) -> None:
        await signed_in_driver(context=context, operator_id=operator_id, email="ada@example.com")
        clock.advance(seconds=2 * 24 * 3600)
        await signed_in_driver(context=context, operator_id=operator_id, email="bob@example.com")

        await prune(context)
        after_two_days = await token_counts(context)
        clock.advance(seconds=29 * 24 * 3600 + 3600)
        await prune(context)

        assert after_two_days == (1, 2)  # ada's access token went, her refresh token stays
        assert await token_counts(context) == (0, 1)  # ada's refresh token expired a day ago
