"""The session list pages by keyset (`after` the last id seen, newest first) as well as by
offset; keyset pages never overlap, cover every session and end with no `next_after`."""

from __future__ import annotations

import pytest

from evbilling.charging.read_repository import SessionFilter
from evbilling.charging.schemas import SessionPage
from evbilling.charging.sessions import list_sessions
from evbilling.infra.context import ServiceContext
from evbilling.kit.errors import InvalidRequest
from tests.factories import create_sessions, create_station


async def all_pages(
    context: ServiceContext, where: SessionFilter, *, limit: int
) -> list[SessionPage]:
    pages: list[SessionPage] = []
    after: int | None = None
    while True:
        async with context.unit_of_work() as db:
            page = await list_sessions(db=db, where=where, limit=limit, after=after)
        pages.append(page)
        if page.next_after is None:
            return pages
        after = page.next_after


def ids(page: SessionPage) -> list[int]:
    return [item.id for item in page.items]


class TestKeysetPages:
    async def test_pages_do_not_overlap_and_cover_every_session_newest_first(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await create_station(context, operator_id=operator_id)
        created = await create_sessions(
            context, operator_id=operator_id, station_id=station, count=7
        )
        first = await all_pages(context, SessionFilter(operator_id=operator_id), limit=3)

        assert [ids(page) for page in first] == [[7, 6, 5], [4, 3, 2], [1]]
        assert [page.next_after for page in first] == [5, 2, None]
        assert sorted(i for page in first for i in ids(page)) == created

    async def test_a_last_page_that_is_exactly_full_has_no_next_after(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await create_station(context, operator_id=operator_id)
        await create_sessions(context, operator_id=operator_id, station_id=station, count=4)

        pages = await all_pages(context, SessionFilter(operator_id=operator_id), limit=2)

        assert [ids(page) for page in pages] == [[4, 3], [2, 1]]
        assert pages[-1].next_after is None
        assert all(page.total is None for page in pages[1:])  # `after` pages count nothing

    async def test_keeps_the_filter_on_every_page(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        first = await create_station(context, operator_id=operator_id, identity="CP-1")
        second = await create_station(context, operator_id=operator_id, identity="CP-2")
        wanted: list[int] = []
        for _ in range(3):
            wanted += await create_sessions(
                context, operator_id=operator_id, station_id=first, count=1
            )
            await create_sessions(context, operator_id=operator_id, station_id=second, count=1)

        pages = await all_pages(
            context, SessionFilter(operator_id=operator_id, station_id=first), limit=2
        )

        assert [ids(page) for page in pages] == [[5, 3], [1]]
        assert sorted(i for page in pages for i in ids(page)) == wanted
        assert {item.station_identity for page in pages for item in page.items} == {"CP-1"}

    async def test_never_shows_another_operators_sessions(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await create_station(context, operator_id=operator_id)
        await create_sessions(context, operator_id=operator_id, station_id=station, count=3)

        pages = await all_pages(context, SessionFilter(operator_id=operator_id + 1), limit=2)

        assert [(ids(page), page.next_after) for page in pages] == [([], None)]


class TestOffsetPages:
    async def test_an_offset_page_has_the_total_and_points_to_the_next_keyset_page(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        station = await create_station(context, operator_id=operator_id)
        await create_sessions(context, operator_id=operator_id, station_id=station, count=5)
        where = SessionFilter(operator_id=operator_id)

        async with context.unit_of_work() as db:
            first = await list_sessions(db=db, where=where, limit=2)
            assert first.next_after is not None
            following = await list_sessions(db=db, where=where, limit=2, after=first.next_after)
            skipped = await list_sessions(db=db, where=where, limit=2, offset=2)
            last = await list_sessions(db=db, where=where, limit=2, offset=4)

        assert (ids(first), first.total, first.next_after) == ([5, 4], 5, 4)
        assert ids(following) == ids(skipped) == [3, 2]
        assert (ids(last), last.total, last.next_after) == ([1], 5, None)

    async def test_refuses_after_and_offset_together(
        self, context: ServiceContext, operator_id: int
    ) -> None:
        async with context.unit_of_work() as db:
            with pytest.raises(InvalidRequest) as refused:
                await list_sessions(
                    db=db, where=SessionFilter(operator_id=operator_id), offset=1, after=5
                )

        assert refused.value.field == "offset"
