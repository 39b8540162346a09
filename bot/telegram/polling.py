"""Long polling: fetch updates, keep each durably, and only then confirm it to Telegram.

Telegram forgets updates below the `offset` of the next getUpdates call, so the offset
moves past an update only once the runner has journaled it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress

from aiogram import Bot
from aiogram.methods import GetUpdates

from bot.telegram.middlewares import failure_description
from bot.telegram.runner import UpdateRunner

logger = logging.getLogger("bot.telegram.polling")


async def _sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def poll(
    bot: Bot,
    runner: UpdateRunner,
    *,
    stop: asyncio.Event,
    allowed_updates: Sequence[str] | None = None,
    polling_timeout: int = 25,
    max_backoff: float = 30.0,
) -> None:
    """Fetch and hand over updates until `stop` is set; a fetch in progress is abandoned."""
    offset: int | None = None
    failures = 0
    request = GetUpdates(timeout=polling_timeout, allowed_updates=list(allowed_updates or []))
    logger.info("polling started")
    while not stop.is_set():
        request.offset = offset
        fetch = asyncio.create_task(bot(request, request_timeout=polling_timeout + 15))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({fetch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if stop.is_set():
            fetch.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await fetch
            break
        try:
            updates = fetch.result()
            for update in updates:
                await runner.accept(update)
                offset = update.update_id + 1
        except Exception as error:
            failures += 1
            delay = min(0.25 * 2 ** min(failures, 10), max_backoff)
            logger.warning(
                "polling failed: retrying",
                extra={"error": failure_description(error), "delay": delay},
            )
            await _sleep_unless_stopped(stop, delay)
            continue
        failures = 0
    logger.info("polling stopped")
