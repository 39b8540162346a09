"""One update at a time per chat, within one process or across several.

A lock has two halves: `hold` wraps the whole update (the transaction included), and
`within` runs first thing inside the update's transaction. In-process and Redis locks use
`hold`; PostgreSQL's transaction-level advisory lock uses `within` and is released by the
commit or rollback itself, so no worker can read the chat's state before it is committed.
A journaled update asks `advisory_key` first: PostgreSQL's lock is then taken by the
journal's claim in its own statement (bot.storage.journal.begin_handling), one round trip
fewer, instead of by `within`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from redis.asyncio import Redis


class ChatLocks(Protocol):
    """Serialises the updates of one chat (the key)."""

    def hold(self, key: int) -> AbstractAsyncContextManager[None]: ...

    async def within(self, session: AsyncSession, key: int) -> None: ...

    def advisory_key(self, key: int) -> int | None:
        """The PostgreSQL advisory lock a journal claim may take instead of `within`."""
        ...

    async def close(self) -> None: ...


class InProcessChatLocks:
    """An asyncio lock per chat: enough for one process (the SQLite deployment)."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # nobody waiting: forget the chat
                del self._users[key], self._locks[key]

    async def within(self, session: AsyncSession, key: int) -> None:
        return None

    def advisory_key(self, key: int) -> int | None:
        return None

    async def close(self) -> None:
        return None


class PostgresChatLocks(InProcessChatLocks):
    """A transaction-level advisory lock on the chat id, shared by every worker process.

    The in-process lock in front keeps waiting tasks of one process off the connection pool.
    """

    async def within(self, session: AsyncSession, key: int) -> None:
        await session.execute(select(func.pg_advisory_xact_lock(key)))

    def advisory_key(self, key: int) -> int | None:
        return key


class RedisChatLocks:
    """A Redis lock per chat, for several processes when Redis is configured.

    The lock expires after `lease_seconds`, so a crashed worker cannot hold a chat for ever.
    """

    def __init__(
        self, redis: Redis, *, lease_seconds: float = 120.0, wait_seconds: float = 60.0
    ) -> None:
        self._redis = redis
        self._lease = lease_seconds
        self._wait = wait_seconds
        self._local = InProcessChatLocks()

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisChatLocks:
        from redis.asyncio import Redis

        return cls(Redis.from_url(url), **kwargs)

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        async with (
            self._local.hold(key),
            self._redis.lock(
                f"codesign:chat:{key}", timeout=self._lease, blocking_timeout=self._wait
            ),
        ):
            yield

    async def within(self, session: AsyncSession, key: int) -> None:
        return None

    def advisory_key(self, key: int) -> int | None:
        return None

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def close(self) -> None:
        await self._redis.aclose()


def chat_locks_for(*, database_backend: str, redis_url: str | None) -> ChatLocks:
    """Redis when configured, else PostgreSQL advisory locks, else in-process locks (SQLite)."""
    if redis_url:
        return RedisChatLocks.from_url(redis_url)
    if database_backend == "postgresql":
        return PostgresChatLocks()
    return InProcessChatLocks()
