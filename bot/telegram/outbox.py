"""Replies held until the update's transaction has committed, then sent in order.

Handlers put what they send in the update's outbox instead of sending at once, so no
database connection (on SQLite, the only one) and no PostgreSQL advisory lock is held
while Telegram answers (50-300 ms a request) or waiting for a chart or a PDF. The
middleware delivers the outbox after the commit, still under the chat's in-process (or
Redis) lock, so one chat's replies keep their order within a process. Across several
workers on PostgreSQL without Redis, the advisory lock ends at the commit: replies to two
updates of one chat handled by two workers within the same moment may arrive in either
order (the transcript keeps the true order); set REDIS_URL where that matters.

Work a reply needs can start at once (`Outbox.start`): a chart or a PDF is drawn in the
drawing process while the update's statements and commit run here. If nothing is
delivered (the update failed), that work is cancelled.

A reply that cannot be delivered no longer undoes the update: what the person said and
chose is stored, the journal and the transcript note the lost reply, and the person is
told, if Telegram lets us, to send /start to see where they are (see
`DatabaseSessionMiddleware`). A crash between the commit and the sending loses the
replies of the updates in flight in the same way, without the note.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

Delivery = Callable[[], Awaitable[object]]
T = TypeVar("T")


class Outbox:
    """What one update will send, in order, once its effect is committed."""

    __slots__ = ("_pending", "_started", "person_id")

    def __init__(self) -> None:
        self._pending: list[Delivery] = []
        self._started: list[asyncio.Future[Any]] = []
        # Whose transcript the replies were logged in, to note there if they do not arrive.
        self.person_id: int | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def start(self, work: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Start `work` now, beside the rest of the update (a chart is drawn while the
        transaction commits); a delivery awaits it. Cancelled if nothing is delivered."""
        started = asyncio.ensure_future(work)
        started.add_done_callback(_retrieved)
        self._started.append(started)
        return started

    def discard(self) -> None:
        """Drop what was not delivered: work started for it is cancelled."""
        self._pending = []
        started, self._started = self._started, []
        for work in started:
            work.cancel()

    def later(self, delivery: Delivery) -> None:
        """Send with `delivery()` after the commit."""
        self._pending.append(delivery)

    async def deliver(self) -> None:
        """Send everything in order; the first failure stops the rest and is raised."""
        pending, self._pending = self._pending, []
        try:
            for delivery in pending:
                await delivery()
        finally:
            self.discard()


def _retrieved(work: asyncio.Future[Any]) -> None:
    """A started work's failure is raised where a delivery awaits it, or not at all."""
    if not work.cancelled():
        work.exception()
