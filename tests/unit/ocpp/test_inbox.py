"""The Inbox and Flag every connection holds instead of asyncio.Queue and asyncio.Event."""

from __future__ import annotations

import asyncio

import pytest

from evbilling.ocpp.inbox import Flag, Inbox


class TestInbox:
    async def test_hands_out_items_in_the_order_they_were_put(self) -> None:
        inbox: Inbox[int] = Inbox()
        for item in (1, 2, 3):
            inbox.put_nowait(item)

        assert inbox.qsize() == 3
        assert [await inbox.get() for _ in range(3)] == [1, 2, 3]
        assert inbox.empty()

    async def test_a_waiting_get_receives_the_next_item_put(self) -> None:
        inbox: Inbox[str] = Inbox()
        waiting = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)
        assert not waiting.done()

        inbox.put_nowait("answer")

        assert await waiting == "answer"

    async def test_get_nowait_on_an_empty_inbox_raises_queue_empty(self) -> None:
        with pytest.raises(asyncio.QueueEmpty):
            Inbox[int]().get_nowait()

    async def test_a_get_that_times_out_leaves_the_inbox_usable(self) -> None:
        inbox: Inbox[int] = Inbox()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(inbox.get(), timeout=0.01)

        inbox.put_nowait(7)

        assert await asyncio.wait_for(inbox.get(), timeout=1) == 7

    async def test_an_item_woken_for_a_cancelled_getter_goes_to_the_next_one(self) -> None:
        inbox: Inbox[int] = Inbox()
        first = asyncio.create_task(inbox.get())
        second = asyncio.create_task(inbox.get())
        await asyncio.sleep(0)

        inbox.put_nowait(1)
        first.cancel()  # woken, then cancelled before it could take the item

        assert await asyncio.wait_for(second, timeout=1) == 1
        assert first.cancelled()
        assert inbox.empty()


class TestFlag:
    async def test_wait_returns_at_once_when_set(self) -> None:
        assert await Flag(is_set=True).wait()

    async def test_wait_blocks_until_set_and_clear_blocks_again(self) -> None:
        flag = Flag()
        waiters = [asyncio.create_task(flag.wait()) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters)

        flag.set()
        assert await asyncio.gather(*waiters) == [True, True, True]

        flag.clear()
        late = asyncio.create_task(flag.wait())
        await asyncio.sleep(0)
        assert not late.done()
        assert not flag.is_set()
        flag.set()
        assert await late
