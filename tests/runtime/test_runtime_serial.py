"""One update at a time per chat: in one process (asyncio), across workers (PostgreSQL, Redis)."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import TelegramObject, Update
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Storage
from bot.storage import journal, repositories
from bot.storage.engine import create_engine, session_factory
from bot.storage.models import Person
from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
from bot.telegram.locks import (
    ChatLocks,
    InProcessChatLocks,
    PostgresChatLocks,
    RedisChatLocks,
    chat_locks_for,
)
from bot.telegram.middlewares import lock_key, update_user
from bot.telegram.recording import LOCAL_BOT_TOKEN, RecordingSession
from tests.fake_bot_api import message_update, press_update

_ids = itertools.count(5000)


class Probe:
    """Wraps every message handler: slow on purpose, and notes when handlers overlap."""

    def __init__(self) -> None:
        self.active = 0
        self.most_at_once = 0
        self.order: list[int] = []

    async def __call__(self, handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
        self.active += 1
        self.most_at_once = max(self.most_at_once, self.active)
        try:
            await asyncio.sleep(0.03)
            return await handler(event, data)
        finally:
            self.order.append(getattr(event, "message_id", -1))
            self.active -= 1


class NoLocks:
    """What the runtime would be without a chat lock (the control that shows the probe works)."""

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        yield

    async def within(self, session: AsyncSession, key: int) -> None:
        return None

    def advisory_key(self, key: int) -> int | None:
        return None

    async def close(self) -> None:
        return None


def wired(storage: Storage, locks: ChatLocks, probe: Probe) -> tuple[Dispatcher, Bot]:
    dispatcher = build_dispatcher(sessions=storage.sessions, locks=locks, journal_updates=True)
    dispatcher.message.outer_middleware(probe)
    return dispatcher, Bot(LOCAL_BOT_TOKEN, session=RecordingSession(), default=BOT_DEFAULTS)


def updates(chat: int, count: int) -> list[Update]:
    return [
        Update.model_validate(message_update(next(_ids), f"hello {n}", user_id=chat))
        for n in range(count)
    ]


async def feed_all(pairs: list[tuple[Dispatcher, Bot, Update]]) -> None:
    await asyncio.gather(*(dp.feed_update(bot, update) for dp, bot, update in pairs))


async def test_updates_of_one_chat_run_one_at_a_time_in_order(storage: Storage) -> None:
    probe = Probe()
    dispatcher, bot = wired(
        storage,
        chat_locks_for(database_backend=storage.engine.url.get_backend_name(), redis_url=None),
        probe,
    )
    batch = updates(77, 5)
    await feed_all([(dispatcher, bot, u) for u in batch])
    assert probe.most_at_once == 1
    assert probe.order == [u.message.message_id for u in batch if u.message]


async def test_the_in_process_lock_serialises_one_chat_only() -> None:
    locks, inside, most = InProcessChatLocks(), {1: 0, 2: 0}, {1: 0, 2: 0}
    together = 0

    async def work(key: int) -> None:
        nonlocal together
        async with locks.hold(key):
            inside[key] += 1
            most[key] = max(most[key], inside[key])
            together = max(together, sum(inside.values()))
            await asyncio.sleep(0.01)
            inside[key] -= 1

    await asyncio.gather(*(work(key) for key in (1, 2, 1, 2, 1)))
    assert most == {1: 1, 2: 1}
    assert together == 2
    assert not locks._locks  # chats nobody waits for are forgotten


# SQLite has one writer at a time, so chats there queue on the database as well; on
# PostgreSQL different chats really run side by side.
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_different_chats_still_run_side_by_side(storage: Storage) -> None:
    probe = Probe()
    dispatcher, bot = wired(storage, PostgresChatLocks(), probe)
    await feed_all([(dispatcher, bot, u) for chat in (1, 2, 3) for u in updates(chat, 1)])
    assert probe.most_at_once > 1


@asynccontextmanager
async def second_worker(storage: Storage) -> AsyncIterator[Storage]:
    """Another process's view of the same PostgreSQL schema: its own engine and pool."""
    async with storage.engine.connect() as connection:
        schema = await connection.scalar(text("SELECT current_schema()"))
    engine = create_engine(
        storage.engine.url, connect_args={"server_settings": {"search_path": str(schema)}}
    )
    try:
        yield Storage(engine, session_factory(engine))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("locks", [PostgresChatLocks, NoLocks], ids=["advisory", "control"])
async def test_workers_sharing_postgresql_take_turns_per_chat(
    storage: Storage, locks: type[ChatLocks]
) -> None:
    probe = Probe()
    async with second_worker(storage) as other:
        first = wired(storage, locks(), probe)
        second = wired(other, locks(), probe)
        batch = updates(79, 6)
        await feed_all([(*(first if n % 2 else second), u) for n, u in enumerate(batch)])
    if locks is NoLocks:
        assert probe.most_at_once > 1
    else:
        assert probe.most_at_once == 1
        assert sorted(probe.order) == sorted(u.message.message_id for u in batch if u.message)


async def redis_or_skip() -> str:
    url = "redis://127.0.0.1:6379/15"
    locks = RedisChatLocks.from_url(url)
    try:
        await locks.ping()
    except Exception:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    finally:
        await locks.close()
    return url


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_workers_sharing_redis_take_turns_per_chat(storage: Storage) -> None:
    url = await redis_or_skip()
    probe = Probe()
    # Two workers: separate Redis clients, separate in-process locks, one Redis.
    locks = [RedisChatLocks.from_url(url, wait_seconds=5), RedisChatLocks.from_url(url)]
    try:
        workers = [wired(storage, lock, probe) for lock in locks]
        chat = int(uuid.uuid4().int % 10**9) + 10**9  # no clash with other runs
        batch = updates(chat, 4)
        await feed_all([(*workers[n % 2], u) for n, u in enumerate(batch)])
    finally:
        for lock in locks:
            await lock.close()
    assert probe.most_at_once == 1
    assert len(probe.order) == 4


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_the_claim_holds_the_chats_advisory_lock_until_the_commit(storage: Storage) -> None:
    chat = -1001234567890  # a group's id: beyond 32 bits
    async with storage.sessions() as session:
        assert await journal.begin_handling(
            session, update_id=next(_ids), chat_id=chat, kind="message", advisory_lock=chat
        )
        async with second_worker(storage) as other, other.engine.connect() as elsewhere:
            try_lock = text("SELECT pg_try_advisory_xact_lock(:key)")
            assert await elsewhere.scalar(try_lock, {"key": chat}) is False
            await elsewhere.rollback()
            await session.commit()
            assert await elsewhere.scalar(try_lock, {"key": chat}) is True


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_only_postgresql_claims_take_an_advisory_lock(storage: Storage) -> None:
    async with storage.sessions() as session:
        with pytest.raises(ValueError, match="PostgreSQL"):
            await journal.begin_handling(
                session, update_id=next(_ids), chat_id=1, kind="message", advisory_lock=1
            )


async def _claim(session: AsyncSession, user: int, *, locking: bool = True) -> bool:
    return await journal.begin_handling(
        session,
        update_id=next(_ids),
        chat_id=user,
        kind="message",
        advisory_lock=user if locking else None,
        telegram_user_id=user,
    )


async def _made(storage: Storage, user: int, data: dict[str, Any]) -> int:
    async with storage.sessions() as session, session.begin():
        person = await repositories.get_or_create_person(
            session, telegram_user_id=user, display_name="Ann", language="en"
        )
        await repositories.save_conversation(session, person_id=person.id, step="goals", data=data)
        return person.id


@asynccontextmanager
async def _claimed_behind(
    first: AsyncSession, storage: Storage, user: int
) -> AsyncIterator[AsyncSession]:
    """Another worker's claim for `user`'s chat, made while `first` holds it: it waits,
    and goes through when `first` commits. Its transaction commits at the end."""
    async with storage.sessions() as waiting:
        claiming = asyncio.create_task(_claim(waiting, user))
        await asyncio.sleep(0.3)
        assert not claiming.done()  # waits for the chat's lock
        await first.commit()
        assert await claiming
        yield waiting
        await waiting.commit()


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("locking", [True, False], ids=["advisory", "no-advisory"])
async def test_the_claim_reads_and_locks_the_senders_row(storage: Storage, locking: bool) -> None:
    user = int(uuid.uuid4().int % 10**9) + 10**9
    person_id = await _made(storage, user, {"n": 0})
    async with storage.sessions() as session:
        assert await _claim(session, user, locking=locking)
        async with second_worker(storage) as other, other.engine.connect() as elsewhere:
            locked = text("SELECT id FROM people WHERE id = :id FOR UPDATE NOWAIT")
            with pytest.raises(DBAPIError, match="lock"):
                await elsewhere.execute(locked, {"id": person_id})
        kept = repositories.take_locked_person(session, user)
        assert kept is not None and (kept.id, dict(kept.data)) == (person_id, {"n": 0})
        assert repositories.take_locked_person(session, user) is None  # taken once
        await session.commit()


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_claim_that_waited_for_the_chat_reads_the_row_as_the_other_left_it(
    storage: Storage,
) -> None:
    # The waiting claim's snapshot predates the other worker's commit; FOR UPDATE must
    # still give the row as that worker left it, or its step would be lost.
    user = int(uuid.uuid4().int % 10**9) + 10**9
    person_id = await _made(storage, user, {"n": 0})
    async with second_worker(storage) as other, other.sessions() as first:
        assert await _claim(first, user)
        await repositories.save_conversation(first, person_id=person_id, step="x", data={"n": 1})
        async with _claimed_behind(first, storage, user) as waiting:
            kept = repositories.take_locked_person(waiting, user)
            assert kept is not None and (kept.step, dict(kept.data)) == ("x", {"n": 1})


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_person_made_while_the_claim_waited_is_found_not_made_twice(
    storage: Storage,
) -> None:
    user = int(uuid.uuid4().int % 10**9) + 10**9
    async with second_worker(storage) as other, other.sessions() as first:
        assert await _claim(first, user)
        assert repositories.take_locked_person(first, user) is None  # a new person
        made = await repositories.get_or_create_person(
            first, telegram_user_id=user, display_name="Ann", language="en"
        )
        async with _claimed_behind(first, storage, user) as waiting:
            found = await repositories.get_or_create_person(
                waiting, telegram_user_id=user, display_name="Ann", language="en"
            )
            assert found.id == made.id


async def test_a_kept_person_is_only_for_its_sender_and_its_transaction(storage: Storage) -> None:
    person_id = await _made(storage, 77, {"n": 0})
    async with storage.sessions() as session:
        person = await repositories.person_by_telegram_id(session, telegram_user_id=77)
        assert person is not None
        repositories.keep_locked_person(session, person)
        assert repositories.take_locked_person(session, 78) is None  # someone else's
        repositories.keep_locked_person(session, person)
        await session.commit()  # its transaction ended: the row is no longer locked
        assert (await session.get(Person, person_id)) is not None  # the next transaction
        assert repositories.take_locked_person(session, 77) is None


@pytest.mark.parametrize(
    ("update", "sender", "key"),
    [
        (message_update(1, "hi", user_id=5, chat_id=-100), 5, -100),
        (message_update(2, "hi", user_id=6, edited=True), 6, 6),
        (press_update(3, "1", user_id=7), 7, 7),
        (
            {
                "update_id": 4,
                "channel_post": {
                    "message_id": 1,
                    "date": 0,
                    "chat": {"id": -1009, "type": "channel"},
                    "text": "news",
                },
            },
            None,
            -1009,
        ),
    ],
    ids=["group-message", "edited", "press", "channel-post"],
)
def test_each_update_is_keyed_on_its_chat_and_claimed_for_its_sender(
    update: dict[str, Any], sender: int | None, key: int
) -> None:
    parsed = Update.model_validate(update)
    found = update_user(parsed)
    assert (None if found is None else found.id) == sender
    assert lock_key(parsed) == key
