"""Exactly-once effect: each update_id counts once; a failed update is kept, not lost."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections.abc import Coroutine
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.methods import AnswerCallbackQuery, SendMessage, SendPhoto
from aiogram.types import Update
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import Answer, RenderedMessage
from bot.runtime import Storage
from bot.storage import journal, migrate, repositories
from bot.storage.engine import create_engine, session_factory
from bot.storage.models import ConversationEvent
from bot.telegram import conversation
from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
from bot.telegram.recording import LOCAL_BOT_TOKEN, Recorded, RecordingSession
from bot.telegram.runner import UpdateRunner
from bot.texts import render
from dialogs.replies import Attachment
from tests.fake_bot_api import message_update, press_update

_ids = itertools.count(9000)
TYPED = "my neighbour Gwen's phone is 07700 900123"


def journaled(storage: Storage) -> tuple[Dispatcher, Bot, RecordingSession]:
    session = RecordingSession()
    bot = Bot(LOCAL_BOT_TOKEN, session=session, default=BOT_DEFAULTS)
    return build_dispatcher(sessions=storage.sessions, journal_updates=True), bot, session


def update(text: str, update_id: int | None = None, **fields: Any) -> Update:
    return Update.model_validate(message_update(update_id or next(_ids), text, **fields))


async def log_rows(storage: Storage) -> int:
    async with storage.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ConversationEvent)) or 0)


async def test_the_same_update_twice_has_one_effect(storage: Storage) -> None:
    dispatcher, bot, session = journaled(storage)
    start = update("/start")
    await dispatcher.feed_update(bot, start)
    replies, rows = len(session.sent(SendMessage)), await log_rows(storage)
    assert replies >= 1 and rows >= 2
    await dispatcher.feed_update(bot, start)
    assert len(session.sent(SendMessage)) == replies  # no second reply
    assert await log_rows(storage) == rows  # no second log row


async def test_a_failed_update_is_kept_the_person_told_and_nothing_half_done(
    storage: Storage, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher, bot, session = journaled(storage)
    await dispatcher.feed_update(bot, update("/start"))
    async with storage.sessions() as db:
        before = await repositories.person_by_telegram_id(db, telegram_user_id=42)
    rows = await log_rows(storage)
    session.clear()

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError(f"could not parse {TYPED!r}")

    monkeypatch.setattr(conversation, "respond", broken)
    failing = update(TYPED)
    with caplog.at_level(logging.INFO):
        await dispatcher.feed_update(bot, failing)  # does not raise
    [apology] = session.sent(SendMessage)
    assert apology.text == render("runtime.failed", "en")
    async with storage.sessions() as db:
        entry = await journal.entry(db, update_id=failing.update_id)
        after = await repositories.person_by_telegram_id(db, telegram_user_id=42)
    assert entry is not None and entry.status == journal.FAILED and entry.attempts == 1
    assert entry.error is not None and entry.error.startswith("ValueError at ")
    assert entry.payload is not None and entry.payload["message"]["text"] == TYPED
    assert after == before and await log_rows(storage) == rows
    assert TYPED not in caplog.text and "07700" not in caplog.text

    # Fails again on a retry: kept, counted, but no second apology.
    retry = UpdateRunner(dispatcher, bot, storage.sessions)
    assert await retry.replay_unfinished() == 1
    assert await retry.drain(5)
    assert len(session.sent(SendMessage)) == 1

    # Fixed: the next start replays it, and it is handled once.
    monkeypatch.undo()
    runner = UpdateRunner(dispatcher, bot, storage.sessions)
    assert await runner.replay_unfinished() == 1
    assert await runner.drain(5)
    async with storage.sessions() as db:
        entry = await journal.entry(db, update_id=failing.update_id)
    assert entry is not None and entry.status == journal.DONE and entry.attempts == 3
    assert entry.payload is None  # the text now lives in the conversation log only
    assert len(session.sent(SendMessage)) > 1
    assert await log_rows(storage) > rows


async def test_a_failed_updates_drawing_is_cancelled_before_the_apology(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The update's answer had a chart, already being drawn, when its commit failed:
    the drawing stops at once, not after the apology is sent (nor is the chart sent)."""
    drawings: list[Coroutine[Any, Any, Any]] = []
    seen_at_apology: list[bool] = []

    def on_request(recorded: Recorded) -> None:
        if isinstance(recorded.method, SendMessage):  # the apology: is each drawing stopped?
            tasks = {task.get_coro(): task for task in asyncio.all_tasks()}
            for drawing in drawings:
                task = tasks.get(drawing)
                seen_at_apology.append(
                    inspect.getcoroutinestate(drawing) == inspect.CORO_CLOSED
                    or (task is not None and task.cancelling() > 0)
                )

    session = RecordingSession(on_request=on_request)
    bot = Bot(LOCAL_BOT_TOKEN, session=session, default=BOT_DEFAULTS)
    dispatcher = build_dispatcher(sessions=storage.sessions, journal_updates=True)
    await dispatcher.feed_update(bot, update("/start"))
    session.clear()

    async def slow_drawing() -> tuple[str, bytes, str]:
        await asyncio.sleep(3600)  # a drawing process that takes its time
        raise AssertionError("never finishes")

    def drawing(*_args: Any) -> Coroutine[Any, Any, tuple[str, bytes, str]]:
        drawings.append(slow_drawing())
        return drawings[-1]

    def disk_failure(*_args: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    real_respond = conversation.respond

    async def respond_with_a_chart(db: AsyncSession, **kwargs: Any) -> Answer:
        answer = await real_respond(db, **kwargs)
        event.listen(db.sync_session, "before_commit", disk_failure, once=True)
        chart = RenderedMessage("", attachment=Attachment("budget_chart", {}))
        return replace(answer, messages=(*answer.messages, chart))

    monkeypatch.setattr(conversation, "drawn_attachment", drawing)
    monkeypatch.setattr(conversation, "respond", respond_with_a_chart)
    await dispatcher.feed_update(bot, update("English"))
    [apology] = session.sent(SendMessage)
    assert apology.text == render("runtime.failed", "en")
    assert len(drawings) == 1
    assert seen_at_apology == [True], "the drawing was stopped before the apology went"
    assert session.sent(SendPhoto) == []


class ReadingWhileSending(RecordingSession):
    """Reads the database while each message is being sent (as Telegram takes its time)."""

    def __init__(self, storage: Storage) -> None:
        super().__init__()
        self.storage = storage
        self.seen: list[tuple[str | None, str | None]] = []

    async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
        if isinstance(method, SendMessage):
            # On SQLite the engine has one connection: this waits for ever (and the timeout
            # fails the test) if the update's transaction still holds it while sending.
            async with asyncio.timeout(5), self.storage.sessions() as db:
                entry = await journal.entry(db, update_id=CURRENT_UPDATE)
                person = await repositories.person_by_telegram_id(db, telegram_user_id=42)
            self.seen.append(
                (None if entry is None else entry.status, None if person is None else person.step)
            )
        return await super().make_request(bot, method, timeout)


CURRENT_UPDATE = 8000


async def test_replies_are_sent_after_the_update_is_committed(storage: Storage) -> None:
    session = ReadingWhileSending(storage)
    bot = Bot(LOCAL_BOT_TOKEN, session=session, default=BOT_DEFAULTS)
    dispatcher = build_dispatcher(sessions=storage.sessions, journal_updates=True)
    await dispatcher.feed_update(bot, update("/start", CURRENT_UPDATE))
    assert session.seen, "no reply was sent"
    # Every reply went out with the update already done and the new step stored.
    assert all(status == journal.DONE and step == "language" for status, step in session.seen)


class RefusingMessages(RecordingSession):
    """Telegram is unreachable for the next `refuse` messages."""

    def __init__(self, refuse: int) -> None:
        super().__init__()
        self.refuse = refuse

    async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
        if isinstance(method, SendMessage) and self.refuse > 0:
            self.refuse -= 1
            raise TelegramNetworkError(method=method, message="unreachable")
        return await super().make_request(bot, method, timeout)


async def test_an_undelivered_reply_keeps_the_effect_and_is_not_handled_again(
    storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    session = RefusingMessages(refuse=100)
    bot = Bot(LOCAL_BOT_TOKEN, session=session, default=BOT_DEFAULTS)
    dispatcher = build_dispatcher(sessions=storage.sessions, journal_updates=True)
    lost = update("/start")
    with caplog.at_level(logging.INFO):
        await dispatcher.feed_update(bot, lost)  # does not raise
    assert "reply not delivered" in caplog.text
    assert not session.sent(SendMessage)
    async with storage.sessions() as db:
        entry = await journal.entry(db, update_id=lost.update_id)
        person = await repositories.person_by_telegram_id(db, telegram_user_id=42)
    # What the person did is stored; the journal notes the lost reply.
    assert person is not None and person.step == "language"
    assert entry is not None and entry.status == journal.DONE and entry.payload is None
    assert entry.error is not None and entry.error.startswith("reply not delivered: ")
    assert await log_rows(storage) >= 2
    runner = UpdateRunner(dispatcher, bot, storage.sessions)
    assert await runner.replay_unfinished() == 0  # handling it again would repeat it

    # Staff see in the transcript that the replies did not arrive.
    async with storage.sessions() as db:
        assert person is not None
        logged = await repositories.conversation_log(db, person_id=person.id)
    assert [e.kind for e in logged][-1] == "undelivered"

    # Telegram is back after one refusal: the person is told how to pick up again.
    session.refuse = 1
    await dispatcher.feed_update(bot, update("/help"))
    assert [m.text for m in session.sent(SendMessage)] == [render("runtime.undelivered", "en")]


class RefusingPressAnswers(RecordingSession):
    """Telegram refuses to answer a press that is too old, as it does after a while."""

    async def make_request(self, bot: Bot, method: Any, timeout: int | None = None) -> Any:  # noqa: ASYNC109
        if isinstance(method, AnswerCallbackQuery):
            raise TelegramBadRequest(method=method, message="Bad Request: query is too old")
        return await super().make_request(bot, method, timeout)


async def test_an_old_press_still_gets_its_reply(storage: Storage) -> None:
    session = RefusingPressAnswers()
    bot = Bot(LOCAL_BOT_TOKEN, session=session, default=BOT_DEFAULTS)
    dispatcher = build_dispatcher(sessions=storage.sessions, journal_updates=True)
    await dispatcher.feed_update(bot, update("/start"))
    session.clear()
    press = Update.model_validate(press_update(next(_ids), "lang:en"))
    await dispatcher.feed_update(bot, press)
    async with storage.sessions() as db:
        entry = await journal.entry(db, update_id=press.update_id)
    assert entry is not None and entry.status == journal.DONE and entry.error is None
    texts = [m.text for m in session.sent(SendMessage)]
    assert texts and render("runtime.undelivered", "en") not in texts


async def test_an_update_received_but_cut_off_is_handled_at_the_next_start(
    storage: Storage,
) -> None:
    dispatcher, bot, session = journaled(storage)
    cut_off = update("/start")
    async with storage.sessions() as db, db.begin():
        await journal.record_received(
            db,
            update_id=cut_off.update_id,
            chat_id=42,
            kind="message",
            payload=cut_off.model_dump(mode="json", exclude_none=True),
        )
    runner = UpdateRunner(dispatcher, bot, storage.sessions)
    assert await runner.replay_unfinished() == 1
    assert await runner.drain(5)
    assert session.sent(SendMessage)
    assert await runner.replay_unfinished() == 0


async def test_old_done_updates_are_pruned(storage: Storage) -> None:
    dispatcher, bot, _ = journaled(storage)
    old = update("/start")
    await dispatcher.feed_update(bot, old)
    async with storage.sessions() as db, db.begin():
        assert await journal.prune(db, older_than=timedelta(days=2)) == 0
        assert await journal.prune(db, older_than=timedelta(seconds=-1)) == 1
        assert await journal.entry(db, update_id=old.update_id) is None


async def test_later_updates_reuse_a_session_closed_cleanly_with_nothing_left_in_it(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sessions are kept between updates (making one cost a fiftieth of an update); each
    update still starts with no objects and no notes left by the one before."""
    seen: list[tuple[AsyncSession, bool, int]] = []
    real_respond = conversation.respond

    async def watching(session: AsyncSession, **kwargs: Any) -> Answer:
        seen.append((session, "left behind" in session.info, len(session.identity_map)))
        session.info["left behind"] = True
        await session.get(ConversationEvent, 1)  # an object in the session's identity map
        return await real_respond(session, **kwargs)

    monkeypatch.setattr(conversation, "respond", watching)
    dispatcher, bot, recorded = journaled(storage)
    for text in ("/start", "/help", "/start"):
        await dispatcher.feed_update(bot, update(text))
    assert len(seen) == 3 and seen[0][0] is seen[1][0] is seen[2][0]
    assert [(left, objects) for _, left, objects in seen] == [(False, 0)] * 3
    assert len(recorded.sent(SendMessage)) >= 3


async def test_an_update_cut_off_before_its_commit_leaves_nothing_and_frees_its_connection(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shutdown cancels an update whose statements ran but did not commit: nothing of it
    is stored, its connection goes back to the pool, and the chat's next update is not
    held up (on PostgreSQL the chat's lock goes with the rollback)."""
    dispatcher, bot, _recorded = journaled(storage)
    await dispatcher.feed_update(bot, update("/start"))
    rows = await log_rows(storage)
    written = asyncio.Event()
    real_respond = conversation.respond

    async def cut_off_after_writing(session: AsyncSession, **kwargs: Any) -> Answer:
        answer = await real_respond(session, **kwargs)  # the turn written, not committed
        written.set()
        await asyncio.Event().wait()  # until cancelled
        return answer

    monkeypatch.setattr(conversation, "respond", cut_off_after_writing)
    pool = storage.engine.pool
    cut_off = update("/help")
    handling = asyncio.create_task(dispatcher.feed_update(bot, cut_off))
    await asyncio.wait_for(written.wait(), 10)
    assert pool.checkedout() == 1  # type: ignore[attr-defined]
    handling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handling
    assert pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await log_rows(storage) == rows
    async with storage.sessions() as db:
        assert await journal.entry(db, update_id=cut_off.update_id) is None

    monkeypatch.undo()
    await asyncio.wait_for(dispatcher.feed_update(bot, cut_off), 10)  # handled in full now
    assert await log_rows(storage) > rows


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_without_the_journal_failures_reach_the_caller(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local chat and the tests see a handler's failure instead of an apology."""

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError("boom")

    monkeypatch.setattr(conversation, "respond", broken)
    dispatcher = build_dispatcher(sessions=storage.sessions)
    bot = Bot(LOCAL_BOT_TOKEN, session=RecordingSession(), default=BOT_DEFAULTS)
    with pytest.raises(ValueError, match="boom"):
        await dispatcher.feed_update(bot, update("/start"))


async def test_a_burst_waits_its_turn_instead_of_timing_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More people at once than the pool has connections: every update is handled."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'burst.db'}", pool_timeout=0.2)
    await migrate.upgrade(engine)
    storage = Storage(engine, session_factory(engine))
    real_respond = conversation.respond

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.05)  # each update holds the one connection for a while
        return await real_respond(*args, **kwargs)

    monkeypatch.setattr(conversation, "respond", slow)
    dispatcher, bot, session = journaled(storage)
    people = range(1000, 1020)  # 20 x 50 ms: the last waits 1 s, five times the pool timeout
    try:
        await asyncio.gather(
            *(dispatcher.feed_update(bot, update("/start", user_id=person)) for person in people)
        )
        async with storage.sessions() as db:
            statuses = (await db.scalars(select(journal.TelegramUpdate.status))).all()
    finally:
        await engine.dispose()
    assert statuses == [journal.DONE] * len(people)
    sent = session.sent(SendMessage)
    assert {m.chat_id for m in sent} == set(people)
    assert render("runtime.failed", "en") not in [m.text for m in sent]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_burst_on_postgresql_keeps_to_the_pools_connections(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More people at once than updates may hold connections: none is opened beyond the
    ones the pool keeps (each new one is a PostgreSQL process and asyncpg's set-up)."""
    opened = []
    event.listen(storage.engine.sync_engine, "connect", lambda *args: opened.append(1))
    real_respond = conversation.respond

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.02)  # each update holds its connection for a while
        return await real_respond(*args, **kwargs)

    monkeypatch.setattr(conversation, "respond", slow)
    dispatcher, bot, _recorded = journaled(storage)
    people = range(1000, 1040)
    for text in ("/start", "/help"):
        await asyncio.gather(
            *(dispatcher.feed_update(bot, update(text, user_id=person)) for person in people)
        )
    async with storage.sessions() as db:
        statuses = (await db.scalars(select(journal.TelegramUpdate.status))).all()
    assert statuses == [journal.DONE] * 2 * len(people)
    assert 1 < len(opened) <= storage.engine.pool.size()  # type: ignore[attr-defined]
