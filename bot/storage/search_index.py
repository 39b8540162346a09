"""The SQLite full-text index of the transcripts, filled in batches off the updates' path.

A message written by an update only notes its id in `conversation_events_unindexed`
(migration 0005): adding it to the FTS5 index there and then, a new index segment for
every update's transaction, cost about 0.1 ms of an update's 3. `index_new_messages`
adds the waiting messages to the index, oldest first, in one transaction: in batches a
message costs a few microseconds.
`bot.storage.engine.keep_sqlite_tidy` calls it every second on the bot's own connection,
and a search calls it first (`bot.dashboard.store.transcript`), so a staff search still
finds a message sent a moment ago. PostgreSQL's GIN index is kept by the
database itself: there these functions do nothing.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

BATCH = 200  # messages per transaction in the background: a millisecond or two of the loop

_LAST_OF_BATCH = text(
    "SELECT max(event_id) FROM (SELECT event_id FROM conversation_events_unindexed "
    "ORDER BY event_id LIMIT :batch)"
)
# CROSS JOIN makes SQLite read the queue first and fetch each message by its id. Left to
# choose, its planner walked every message ever logged up to `last` and looked each up in
# the queue: a batch cost more the longer the bot had run (58 us a message at 60,000).
_ADD = text(
    "INSERT INTO conversation_events_fts(rowid, body) SELECT e.id, e.body "
    "FROM conversation_events_unindexed AS u CROSS JOIN conversation_events AS e "
    "ON e.id = u.event_id WHERE u.event_id <= :last"
)
_FORGET = text("DELETE FROM conversation_events_unindexed WHERE event_id <= :last")
_WAITING = text("SELECT count(*) FROM conversation_events_unindexed")


def _is_sqlite(db: AsyncSession | AsyncConnection) -> bool:
    bind = db.get_bind() if isinstance(db, AsyncSession) else db
    return bind.dialect.name == "sqlite"


async def index_new_messages(db: AsyncSession | AsyncConnection, *, batch: int = -1) -> int:
    """Add up to `batch` waiting messages (all of them if negative) to the index, in `db`'s
    transaction; how many were added. Takes no write lock when none is waiting."""
    if not _is_sqlite(db):
        return 0
    last = (await db.execute(_LAST_OF_BATCH, {"batch": batch})).scalar()
    if last is None:
        return 0
    await db.execute(_ADD, {"last": last})
    forgotten = await db.execute(_FORGET, {"last": last})
    return int(getattr(forgotten, "rowcount", 0) or 0)


async def waiting_messages(db: AsyncSession | AsyncConnection) -> int:
    """How many messages are not in the index yet (0 on PostgreSQL)."""
    if not _is_sqlite(db):
        return 0
    return int((await db.execute(_WAITING)).scalar() or 0)


async def index_in_batches(engine: AsyncEngine, *, batch: int = BATCH) -> int:
    """Index every waiting message, `batch` to a transaction; how many were added."""
    added = 0
    while True:
        async with engine.begin() as connection:
            count = await index_new_messages(connection, batch=batch)
        added += count
        if count < batch:
            return added
