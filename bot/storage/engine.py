"""The async engine and session factory, with SQLite tuned for a small embedded deployment."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from weakref import WeakSet

import orjson
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.storage.inline_sqlite import InlineConnection, inline_creator
from bot.storage.search_index import index_in_batches

SQLITE_BUSY_TIMEOUT_MS = 5000
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
logger = logging.getLogger("bot.storage")


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's busy handler sleeps in the calling thread: on the event loop's thread it
    # would freeze every chat, and the dashboard's transaction holding the lock could not
    # finish. The inline driver waits for the lock itself, asynchronously.
    inline = isinstance(getattr(dbapi_connection, "driver_connection", None), InlineConnection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={0 if inline else SQLITE_BUSY_TIMEOUT_MS}")
    if inline:  # checkpoints copy and fsync: done on a thread by keep_sqlite_tidy
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # When the WAL starts again from its beginning, a file grown past this is cut back.
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
    cursor.close()


class JsonText(str):
    """A value already written as a JSON column writes it (`json_of`): stored as it is."""

    __slots__ = ()


def json_of(value: Any, plain: Callable[[], Any]) -> JsonText:
    """`plain()`, a dataclass's JSON values, as `json_text` writes them, for a JSON column.

    orjson writes the dataclass itself, in one pass: making the plain values first and
    then writing them was two more (the person's state, after every update; bench/README.md,
    "Ninth round"). What orjson refuses in a dataclass goes through `plain()` and `json_text`.
    """
    try:
        return JsonText(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode())
    except TypeError:
        return JsonText(json_text(plain()))


def json_param(data: Mapping[str, Any] | JsonText) -> dict[str, Any] | JsonText:
    """A JSON column's parameter: a `JsonText` as it is, a mapping as a dict of its own."""
    return data if isinstance(data, JsonText) else dict(data)


def json_text(value: Any) -> str:
    """A JSON column's value as text (orjson: the state is saved after every update).

    What json.dumps accepts, and only that: a date or a dataclass is refused as json.dumps
    refuses it; text orjson cannot write (half a surrogate pair) goes to json.dumps. Two
    differences, for values nothing here stores: an integer beyond 64 bits is refused
    (orjson would read it back as a float), and NaN and infinities, which PostgreSQL
    refuses in JSON, are written null. A `JsonText` is written as it is.
    """
    if type(value) is JsonText:
        return str(value)
    try:
        return orjson.dumps(value, option=_ORJSON_AS_JSON).decode()
    except TypeError:
        if _has_huge_integer(value):
            raise ValueError("an integer beyond 64 bits cannot be kept in a JSON column") from None
        return json.dumps(value)


def _has_huge_integer(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return not -(2**63) <= value < 2**64
    if isinstance(value, dict):
        return any(_has_huge_integer(k) or _has_huge_integer(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_huge_integer(item) for item in value)
    return False


def json_value(text: str | bytes) -> Any:
    """A JSON column's text as its value; json.loads for what orjson refuses (NaN, say)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


_ORJSON_AS_JSON = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


POSTGRES_POOL_SIZE = 10  # DATABASE_POOL_SIZE


def create_engine(database_url: str | URL, *, inline: bool = True, **kwargs: Any) -> AsyncEngine:
    """An engine for the embedded SQLite file (created with its folder) or for PostgreSQL.

    `inline` (SQLite files only): run statements on the event loop's thread, for the short
    statements of updates; `inline=False` keeps aiosqlite's thread, for long reads.
    """
    url = make_url(database_url)
    path = sqlite_file(url)
    ours_inline = False
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # SQLite takes one writer at a time. With one connection, concurrent updates wait
        # their turn (see DatabaseSessionMiddleware) instead of in SQLite's busy handler,
        # which sleeps in steps up to 100 ms and gives up with "database is locked". The
        # dashboard has a connection of its own (bot.runtime.Storage.dashboard_engine).
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        if inline and not url.query and "async_creator" not in kwargs:
            kwargs["async_creator"] = inline_creator(str(path))
            ours_inline = True
    elif url.get_backend_name() == "postgresql":
        # Updates take the kept connections only (DatabaseSessionMiddleware): one opened
        # beyond them is closed when it is given back, and each cost PostgreSQL a new
        # backend process and asyncpg its type introspection (bench/README.md, "Eighth
        # round"). The overflow is left to the rest (the dashboard, health checks).
        kwargs.setdefault("pool_size", POSTGRES_POOL_SIZE)
    kwargs.setdefault("json_serializer", json_text)
    kwargs.setdefault("json_deserializer", json_value)
    engine = create_async_engine(url, **kwargs)
    if ours_inline:
        _inline_engines.add(engine)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
    return engine


_inline_engines: WeakSet[AsyncEngine] = WeakSet()


def runs_inline(engine: AsyncEngine) -> bool:
    """Whether `engine` runs its statements on the event loop (bot.storage.inline_sqlite).

    Closing a session of such an engine never waits (a rollback at most, run in place), so
    no cancellation can cut a close off halfway.
    """
    return engine in _inline_engines


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def connection_limit(engine: AsyncEngine, *, unbounded: int = 64) -> int:
    """How many connections the engine's pool keeps open (`unbounded` if it has no limit).

    Its overflow is not counted: those connections are opened when asked for and closed
    when given back, for bursts, not for a steady load.
    """
    size = getattr(engine.pool, "size", None)
    if not callable(size):  # NullPool, StaticPool and the like
        return unbounded
    return max(1, int(size()))


WAL_CHECKPOINT_SECONDS = 1.0
WAL_RESTART_FRAMES = 4096  # pages of 4 KB: 16 MB of WAL, a second or more of busy updates
RESTART_WAIT_MS = 200


async def checkpoint(connection: AsyncConnection, *, restart_frames: int) -> None:
    """Copy the write-ahead log into the database file; start it again once it is long.

    PASSIVE copies what it can and waits for no one. But the WAL starts again from its
    beginning only when a writer finds every frame copied, and the bot commits while the
    copy runs on its thread: the file grew by every page ever written (1.5 GB after 27,000
    updates) and each statement looked its pages up in a longer WAL index (an update's
    commit 90 -> 210 us). Once `restart_frames` frames are in the WAL, RESTART copies the
    few written meanwhile while it holds writers back (the inline connection waits for it
    asynchronously), waiting at most RESTART_WAIT_MS for its turn; the next write then
    starts the WAL again. If it does not get its turn, it is tried again next time.
    RESTART also waits for readers to leave the WAL: a staff search running at that moment
    can hold the chats' writes back for up to RESTART_WAIT_MS, once a second at most and
    only while the WAL is long.
    """
    # A row of three: busy (0 or 1), frames in the WAL, frames copied.
    passive: Sequence[int] = (
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    ).one()
    if passive[1] < restart_frames:
        return
    await connection.exec_driver_sql(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
    try:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)")
    except Exception:
        await connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        raise
    # Not after a cancellation: SQLAlchemy has given up the connection, and a statement
    # on it would raise an error in place of the CancelledError.
    await connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


async def keep_sqlite_tidy(
    engine: AsyncEngine,
    threaded: AsyncEngine,
    *,
    every: float = WAL_CHECKPOINT_SECONDS,
    restart_frames: int = WAL_RESTART_FRAMES,
) -> None:
    """Every `every` seconds: add new messages to the full-text index, then copy the
    write-ahead log into the database file (`checkpoint`).

    `engine` is the bot's (inline) engine: the indexing takes its turn on the bot's own
    connection, in batches of a millisecond or two (bot.storage.search_index); on another
    connection it held the write lock while its thread waited for the interpreter lock,
    stalling every chat. `threaded` (`inline=False`) checkpoints: the copying and the
    fsync would stall the chats on the inline connection.
    """
    while True:
        await asyncio.sleep(every)
        try:
            await index_in_batches(engine)
        except Exception as error:  # tried again next time; a search indexes what waits
            _stop_if_cancelled(error)
            logger.warning("search indexing failed", extra={"error": type(error).__name__})
        try:
            async with threaded.connect() as connection:
                await checkpoint(connection, restart_frames=restart_frames)
        except Exception as error:  # tried again next time; the WAL only grows meanwhile
            _stop_if_cancelled(error)
            logger.warning("WAL checkpoint failed", extra={"error": type(error).__name__})


def _stop_if_cancelled(error: Exception) -> None:
    """Raise CancelledError if this task is being cancelled and `error` took its place.

    A cancellation inside a statement can come out as another error (SQLAlchemy's
    PendingRollbackError, from a statement run in a `finally` on the connection it gave
    up); taken for a failure to try again, it kept the loop going and shutdown waited
    for it forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error
