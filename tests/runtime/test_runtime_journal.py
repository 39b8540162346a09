"""Exactly-once effect: each update_id counts once; a failed update is kept, not lost."""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendMessage
from aiogram.types import Update
from sqlalchemy import func, select

from bot.runtime import Storage
from bot.storage import journal, repositories
from bot.storage.models import ConversationEvent
from bot.telegram import conversation
from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
from bot.telegram.recording import LOCAL_BOT_TOKEN, RecordingSession
from bot.telegram.runner import UpdateRunner
from bot.texts import render
from tests.fake_bot_api import message_update

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
