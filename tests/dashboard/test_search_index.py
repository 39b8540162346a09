"""The SQLite full-text index filled in batches: nothing is missed, nothing corrupts it.

New messages wait in `conversation_events_unindexed` until `index_new_messages` adds them
(every second in the background, and before every search). These tests check that a
search still finds the newest message, that deleting or blanking messages, indexed or
still waiting, leaves the index whole (FTS5's integrity check against the messages), and
that migration 0005 keeps an existing database's index right in both directions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.dashboard import store
from bot.runtime import Storage
from bot.storage import migrate, repositories, search_index
from bot.storage.engine import create_engine, keep_sqlite_tidy, session_factory
from bot.storage.models import ConversationEvent, Person
from bot.storage.repositories import LoggedEvent


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'codesign.db'}")
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


async def _person(session: AsyncSession, name: str = "Ann") -> int:
    # Core, with the columns every revision has (the ORM would name them all).
    values = {"telegram_user_id": hash(name) % 10_000, "display_name": name, "conversation": {}}
    return int(await session.scalar(insert(Person).values(values).returning(Person.id)))


async def _say(session: AsyncSession, person_id: int, *bodies: str) -> None:
    events = [LoggedEvent("in", "text", "goals", body) for body in bodies]
    await repositories.log_events(session, person_id=person_id, actor_telegram_id=7, events=events)


async def _indexed(session: AsyncSession, word: str) -> list[int]:
    """The ids the index itself holds for `word` (not what a search would add first)."""
    rows = await session.execute(
        text("SELECT rowid FROM conversation_events_fts WHERE body MATCH :w ORDER BY rowid"),
        {"w": word},
    )
    return [int(row[0]) for row in rows]


async def _index_is_whole(session: AsyncSession) -> None:
    """FTS5's check of the index against the messages (raises if they differ)."""
    await session.execute(
        text(
            "INSERT INTO conversation_events_fts(conversation_events_fts, rank) "
            "VALUES ('integrity-check', 1)"
        )
    )


async def test_a_new_message_waits_for_the_index_and_a_search_still_finds_it(
    engine: AsyncEngine,
) -> None:
    async with session_factory(engine)() as session, session.begin():
        ann = await _person(session)
        await _say(session, ann, "I love the gardening club", "Swimming on Tuesdays")
    async with session_factory(engine)() as session, session.begin():
        # The update only queued the messages: the index has not been touched.
        assert await search_index.waiting_messages(session) == 2
        assert await _indexed(session, "gardening") == []
        found = await store.transcript(session, person_id=ann, query="Gardening")
        assert [event.body for event in found.events] == ["I love the gardening club"]
        assert await search_index.waiting_messages(session) == 0
        assert len(await _indexed(session, "gardening")) == 1
        await _index_is_whole(session)


async def test_deleting_and_blanking_messages_indexed_or_waiting_keeps_the_index_whole(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        ann, bob = await _person(session, "Ann"), await _person(session, "Bob")
        await _say(session, ann, "gardening on Mondays", "painting on Fridays")
        await _say(session, bob, "gardening with my son")
        assert await search_index.index_new_messages(session) == 3
        await _say(session, ann, "gardening again")  # still waiting
        await _say(session, bob, "a gardening course")  # still waiting
    async with sessions() as session, session.begin():
        # Ann declines: her messages go, two indexed and one waiting.
        await repositories.forget_conversation(session, person_id=ann)
        # Bob's text is blanked: one indexed message, one waiting.
        assert await repositories.erase_conversation_text(session, person_id=bob) == 2
        await search_index.index_new_messages(session)
        await _index_is_whole(session)
        assert await _indexed(session, "gardening") == []
        assert (await store.transcript(session, person_id=bob, query="gardening")).total == 0


async def test_a_reused_message_id_is_indexed_with_its_new_text(engine: AsyncEngine) -> None:
    """SQLite gives the id of a deleted newest row to the next one: it must not be
    mistaken for the indexed message it replaces."""
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        ann = await _person(session)
        await _say(session, ann, "first words", "swimming lessons")
        await search_index.index_new_messages(session)
        newest = await session.scalar(select(ConversationEvent.id).order_by(-ConversationEvent.id))
        await session.execute(delete(ConversationEvent).where(ConversationEvent.id == newest))
        await _say(session, ann, "pottery evenings")
        reused = await session.scalar(select(ConversationEvent.id).order_by(-ConversationEvent.id))
        assert reused == newest
        found = await store.transcript(session, person_id=ann, query="pottery")
        assert [event.id for event in found.events] == [reused]
        assert (await store.transcript(session, person_id=ann, query="swimming")).total == 0
        await _index_is_whole(session)


async def test_the_background_task_indexes_waiting_messages_in_batches(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    threaded = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'codesign.db'}", inline=False)
    try:
        async with session_factory(engine)() as session, session.begin():
            ann = await _person(session)
            bodies = [f"message {n} about gardening" for n in range(1_203)]
            await _say(session, ann, *bodies)
        assert await search_index.index_in_batches(threaded, batch=500) == 1_203
        async with session_factory(engine)() as session, session.begin():
            await _say(session, ann, "and about walking")
        tidy = asyncio.create_task(keep_sqlite_tidy(engine, threaded, every=0.01))
        await asyncio.sleep(0.3)
        tidy.cancel()
        await asyncio.gather(tidy, return_exceptions=True)
        async with session_factory(engine)() as session:
            assert await search_index.waiting_messages(session) == 0
            assert len(await _indexed(session, "walking")) == 1
            assert len(await _indexed(session, "gardening")) == 1_203
            await _index_is_whole(session)
    finally:
        await threaded.dispose()


async def _indexing_steps(engine: AsyncEngine, *, already_indexed: int) -> int:
    """SQLite's virtual-machine steps to index 20 new messages after `already_indexed`."""
    async with session_factory(engine)() as session, session.begin():
        ann = await _person(session)
        await _say(session, ann, *(f"message {n} about the garden" for n in range(already_indexed)))
        await search_index.index_new_messages(session)
        await _say(session, ann, *(f"new message {n} about swimming" for n in range(20)))
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0  # go on

    async with engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        sqlite = raw._connection  # the inline driver's sqlite3 connection
        sqlite.set_progress_handler(count, 1)
        try:
            async with connection.begin():
                assert await search_index.index_new_messages(connection) == 20
        finally:
            sqlite.set_progress_handler(None, 1)
    return steps


async def test_indexing_new_messages_costs_the_same_however_many_are_indexed_already(
    tmp_path: Path,
) -> None:
    # The queue is read first and each waiting message fetched by its id: SQLite's planner
    # had chosen to walk every message ever logged (ids up to the batch's last) and look
    # each up in the queue, so a batch cost more the longer the council had run.
    costs = []
    for already in (20, 4_000):
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / f'{already}.db'}")
        try:
            await migrate.upgrade(engine)
            costs.append(await _indexing_steps(engine, already_indexed=already))
        finally:
            await engine.dispose()
    few, many = costs
    assert many < 1.5 * few, costs


async def test_migration_0005_keeps_an_existing_index_right_both_ways(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    sessions = session_factory(engine)
    try:
        await migrate.upgrade(engine, "0004")
        async with sessions() as session, session.begin():
            ann = await _person(session)
            await session.execute(
                insert(ConversationEvent),
                [
                    {"person_id": ann, "direction": "in", "kind": "text", "step": "goals",
                     "body": body, "detail": {}}
                    for body in ("gardening before the upgrade", "cooking before the upgrade")
                ],
            )  # fmt: skip
        await migrate.upgrade(engine)
        async with sessions() as session, session.begin():
            assert await search_index.waiting_messages(session) == 0  # indexed by 0004
            cooking = ConversationEvent.body.like("cooking%")
            await session.execute(delete(ConversationEvent).where(cooking))
            await _say(session, ann, "walking after the upgrade")
            await _index_is_whole_after_indexing(session)
            await _say(session, ann, "swimming, waiting at the downgrade")
        await migrate.downgrade(engine, "0004")
        async with sessions() as session, session.begin():
            assert len(await _indexed(session, "swimming")) == 1
            assert len(await _indexed(session, "gardening")) == 1
            assert await _indexed(session, "cooking") == []
            await _say(session, ann, "indexed at once by the old trigger: painting")
            assert len(await _indexed(session, "painting")) == 1
            await _index_is_whole(session)
    finally:
        await engine.dispose()


async def _index_is_whole_after_indexing(session: AsyncSession) -> None:
    await search_index.index_new_messages(session)
    await _index_is_whole(session)


async def test_postgresql_has_no_queue_and_search_works_on_both(
    storage: Storage, backend: str
) -> None:
    async with storage.sessions() as session, session.begin():
        ann = await _person(session)
        await _say(session, ann, "gardening")
        assert await search_index.index_new_messages(session) == (1 if backend == "sqlite" else 0)
        assert await search_index.waiting_messages(session) == 0
        found = await store.transcript(session, person_id=ann, query="gardening")
        assert found.total == 1
