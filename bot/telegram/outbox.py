"""Replies held until the update's transaction has committed, then sent in order.

Handlers put what they send in the update's outbox instead of sending at once, so no
database connection (on SQLite, the only one) and no PostgreSQL chat lock is held while
Telegram answers (50-300 ms a request) or while a chart or a PDF is drawn. The
middleware delivers the outbox after the commit, still under the chat's in-process lock,
so one chat's replies keep their order.

A reply that cannot be delivered no longer undoes the update: what the person said and
chose is stored, and they are told, if Telegram lets us, to send /start to see where they
are (see `DatabaseSessionMiddleware`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Delivery = Callable[[], Awaitable[object]]


class Outbox:
    """What one update will send, in order, once its effect is committed."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: list[Delivery] = []

    def __len__(self) -> int:
        return len(self._pending)

    def later(self, delivery: Delivery) -> None:
        """Send with `delivery()` after the commit."""
        self._pending.append(delivery)

    async def deliver(self) -> None:
        """Send everything in order; the first failure stops the rest and is raised."""
        pending, self._pending = self._pending, []
        for delivery in pending:
            await delivery()
