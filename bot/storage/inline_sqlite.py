"""SQLite for the asyncio engine without a thread hop per statement.

aiosqlite runs every call on its own thread and wakes the event loop for each result:
about a dozen hops an update, each a few hundred microseconds of latency during which,
with SQLite's single connection, no other chat can use the database. The statements of
an update take microseconds each on a local file in WAL mode, so this driver runs them
on the event loop's thread instead, behind the same `async` interface SQLAlchemy's
aiosqlite dialect expects (it is passed as `async_creator`).

Use it for the bot's short statements only. A long query (a staff search over a million
messages) would stall every chat while it runs: the dashboard keeps aiosqlite.

When another connection (the dashboard's) holds the write lock, SQLite answers
SQLITE_BUSY at once (timeout and busy_timeout 0 on this connection); the statement is
tried again after an asynchronous pause, so the loop, and the other connection's
transaction, go on. A statement refused with SQLITE_BUSY changed nothing, and in the
sqlite3 module's default transaction control (not autocommit: checked at connect)
the transaction begins at its first write, where the lock is taken, so trying that
statement again is safe. WAL checkpoints are left to a threaded connection (see
`bot.storage.engine.keep_sqlite_tidy`): their copying and fsync would stall the loop.

Not supported, as nothing here needs them: changing the isolation level (AUTOCOMMIT),
server-side cursors (`AsyncSession.stream`), and URL query options (`?mode=ro`): such an
engine should keep aiosqlite (`create_engine(..., inline=False)`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any, TypeVar

LOCK_WAIT_SECONDS = 5.0  # as the threaded connections' busy_timeout
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.05
T = TypeVar("T")


# SQLITE_BUSY only: not SQLITE_BUSY_SNAPSHOT (a transaction reading an old snapshot can
# never write; trying again would only wait), which has the same message.
_RETRIED = {sqlite3.SQLITE_BUSY, getattr(sqlite3, "SQLITE_BUSY_RECOVERY", 261)}


def _is_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in _RETRIED


def unless_locked(attempt: Callable[..., object], *args: object) -> Awaitable[object] | None:
    """Run `attempt(*args)` now: None if it ran; if the file was locked (it did nothing),
    what to await to try again after pauses (`when_unlocked`). No coroutine is made when
    it runs: a statement of the bot's almost never finds the file locked."""
    try:
        attempt(*args)
    except sqlite3.OperationalError as error:
        if not _is_busy(error):
            raise
        return when_unlocked(partial(attempt, *args), refused=True)
    return None


async def when_unlocked(attempt: Callable[[], T], *, refused: bool = False) -> T:
    """`attempt()`, tried again with growing asynchronous pauses while the file is locked;
    `refused`: it was just tried and found the file locked, so the first try is after a pause."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = _FIRST_PAUSE
    while True:
        if refused:
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)
        refused = True
        try:
            return attempt()
        except sqlite3.OperationalError as error:
            if not _is_busy(error) or time.monotonic() + pause > deadline:
                raise


class InlineCursor:
    """The parts of aiosqlite's cursor that SQLAlchemy uses, run in place."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        later = unless_locked(
            self._cursor.execute, sql, *(() if parameters is None else (parameters,))
        )
        if later is not None:
            await later
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)  # an iterator would be spent by a refused attempt
        later = unless_locked(self._cursor.executemany, sql, rows)
        if later is not None:
            await later
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The parts of aiosqlite's connection that SQLAlchemy uses, run in place."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        # The name SQLAlchemy's adapter reads to tell an open connection from a closed one.
        self._connection: sqlite3.Connection | None = connection

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection itself (bot.storage.direct runs statements on it)."""
        return self._open()

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open().cursor())

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    async def commit(self) -> None:
        later = unless_locked(self._open().commit)
        if later is not None:
            await later

    async def rollback(self) -> None:
        self._open().rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (also SQLAlchemy's terminate)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_creator(database: str) -> Any:
    """An `async_creator` for `create_async_engine` opening `database` in place."""

    async def connect() -> InlineConnection:
        # timeout=0: SQLite's busy handler would sleep on the loop (see the module notes).
        connection = sqlite3.connect(database, timeout=0, check_same_thread=False)
        if connection.isolation_level is None:  # autocommit: a retry could repeat a write
            connection.close()
            raise RuntimeError("the inline SQLite driver needs the sqlite3 transaction control")
        return InlineConnection(connection)

    return connect
