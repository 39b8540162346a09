"""Updates from Telegram to the dispatcher: kept durably first, handled as tasks, drained.

Both transports hand updates to `UpdateRunner.accept`, which writes the update to the
journal before Telegram is told it arrived (the next getUpdates offset, or the webhook's
200), then handles it in the background. On shutdown the runner stops accepting and
lets the tasks in flight finish within a bound; what is cut off stays in the journal
and is handled again at the next start (`replay_unfinished`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import journal
from bot.telegram.middlewares import failure_description, update_chat_id

logger = logging.getLogger("bot.telegram.runner")
JOURNAL_KEEPS = timedelta(days=2)


class NotAccepting(RuntimeError):
    """The runner is shutting down: the update should come again later."""


class UpdateRunner:
    def __init__(
        self, dispatcher: Dispatcher, bot: Bot, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._sessions = sessions
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepting = True

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def accept(self, update: Update) -> None:
        """Keep `update` durably, then handle it in the background."""
        if not self._accepting:
            raise NotAccepting("shutting down")
        async with self._sessions() as session, session.begin():
            await journal.record_received(
                session,
                update_id=update.update_id,
                chat_id=update_chat_id(update),
                kind=update.event_type,
                payload=update.model_dump(mode="json", exclude_none=True),
            )
        self.submit(update)

    def submit(self, update: Update) -> None:
        task = asyncio.create_task(self._handle(update), name=f"update-{update.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, update: Update) -> None:
        try:
            await self._dispatcher.feed_update(self._bot, update)
        except Exception as error:  # e.g. the chat lock could not be had: replayed at start
            logger.error(
                "update not handled",
                extra={"update_id": update.update_id, "error": failure_description(error)},
            )

    async def replay_unfinished(self) -> int:
        """Handle again what an earlier run received but did not finish; returns how many."""
        async with self._sessions() as session, session.begin():
            pruned = await journal.prune(session, older_than=JOURNAL_KEEPS)
            entries = await journal.unfinished(session)
        for entry in entries:
            if entry.payload is None:
                continue
            update = Update.model_validate(dict(entry.payload), context={"bot": self._bot})
            self.submit(update)
        logger.info("journal checked", extra={"replayed": len(entries), "pruned": pruned})
        return len(entries)

    def stop_accepting(self) -> None:
        self._accepting = False

    async def drain(self, grace_seconds: float) -> bool:
        """Wait up to `grace_seconds` for the updates in flight; True if all finished."""
        self.stop_accepting()
        pending = set(self._tasks)
        if not pending:
            return True
        logger.info("draining", extra={"in_flight": len(pending), "grace_seconds": grace_seconds})
        _, unfinished = await asyncio.wait(pending, timeout=grace_seconds)
        for task in unfinished:
            task.cancel()
        if unfinished:
            await asyncio.wait(unfinished, timeout=1.0)
            logger.warning("updates cut off at shutdown", extra={"count": len(unfinished)})
        return not unfinished
