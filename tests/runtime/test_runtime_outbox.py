"""The update's outbox: replies in order after the commit, work started early for them."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from bot.telegram.outbox import Outbox


async def test_started_work_runs_beside_the_update_and_is_awaited_by_its_delivery() -> None:
    outbox, sent = Outbox(), []

    async def draw() -> str:
        return "chart"

    drawing = outbox.start(draw())

    async def send() -> None:
        sent.append(await drawing)

    outbox.later(send)
    await asyncio.sleep(0)  # the update goes on (its statements, the commit)
    assert drawing.done(), "drawn before the delivery"
    await outbox.deliver()
    assert sent == ["chart"]


async def test_work_for_replies_never_delivered_is_cancelled() -> None:
    outbox = Outbox()
    drawing = outbox.start(asyncio.sleep(60))
    outbox.later(lambda: asyncio.sleep(0))
    outbox.discard()  # the update failed: nothing is sent
    await asyncio.sleep(0)
    assert drawing.cancelled()
    await outbox.deliver()  # nothing left to send


async def test_a_failed_drawing_is_raised_by_its_delivery_or_dropped_quietly() -> None:
    loop, reported = asyncio.get_running_loop(), []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))

    async def broken() -> Any:
        raise ValueError("no font")

    outbox = Outbox()
    drawing = outbox.start(broken())

    async def send() -> None:
        await drawing

    outbox.later(send)
    with pytest.raises(ValueError, match="no font"):
        await outbox.deliver()

    unsent = Outbox()
    unsent.start(broken())
    await asyncio.sleep(0)
    unsent.discard()
    del unsent
    gc.collect()
    await asyncio.sleep(0)
    assert not reported, "no 'exception was never retrieved' report"
