"""Unexpected input: edits, group and channel chats, very long and odd texts."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.methods import SendMessage
from aiogram.types import Update

from bot.runtime import Storage
from bot.storage import repositories
from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
from bot.telegram.guards import LONG_TEXT_LIMIT
from bot.telegram.recording import LOCAL_BOT_TOKEN, RecordingSession
from bot.texts import render
from tests.fake_bot_api import message_update

_ids = itertools.count(20000)


class Chat:
    def __init__(self, storage: Storage, default_language: str = "en") -> None:
        self.storage = storage
        self.session = RecordingSession()
        self.bot = Bot(LOCAL_BOT_TOKEN, session=self.session, default=BOT_DEFAULTS)
        self.dispatcher: Dispatcher = build_dispatcher(
            sessions=storage.sessions, journal_updates=True, default_language=default_language
        )

    async def send(self, update: dict[str, Any]) -> list[str]:
        before = len(self.session.sent(SendMessage))
        await self.dispatcher.feed_update(self.bot, Update.model_validate(update))
        return [m.text for m in self.session.sent(SendMessage)[before:]]

    async def say(self, text: str, **fields: Any) -> list[str]:
        return await self.send(message_update(next(_ids), text, **fields))

    async def step(self) -> str | None:
        async with self.storage.sessions() as session:
            person = await repositories.person_by_telegram_id(session, telegram_user_id=42)
        return None if person is None else person.step


async def test_an_edited_message_gets_a_note_and_changes_nothing(storage: Storage) -> None:
    chat = Chat(storage)
    await chat.say("/start")
    step = await chat.step()
    replies = await chat.send(message_update(next(_ids), "/help", edited=True))
    assert replies == [render("runtime.edited", "en")]
    assert await chat.step() == step


@pytest.mark.parametrize("chat_type", ["group", "supergroup"])
async def test_group_chats_are_told_the_bot_works_in_private(
    storage: Storage, chat_type: str
) -> None:
    chat = Chat(storage)
    replies = await chat.say("/start", chat_id=-100123, chat_type=chat_type, language="cy")
    assert replies == [render("runtime.private_only", "cy")]
    assert await chat.step() is None  # no conversation was started


async def test_channel_posts_are_told_the_same(storage: Storage) -> None:
    chat = Chat(storage, default_language="cy")
    post = {
        "update_id": next(_ids),
        "channel_post": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": -100999, "type": "channel", "title": "News"},
            "text": "hello",
        },
    }
    assert await chat.send(post) == [render("runtime.private_only", "cy")]


async def test_a_very_long_text_is_politely_sent_back(storage: Storage) -> None:
    chat = Chat(storage)
    await chat.say("/start")
    step = await chat.step()
    assert await chat.say("x" * LONG_TEXT_LIMIT) != [
        render("runtime.too_long", "en", {"limit": LONG_TEXT_LIMIT})
    ]
    replies = await chat.say("I would like " + "a garden club " * 200)
    assert replies == [render("runtime.too_long", "en", {"limit": LONG_TEXT_LIMIT})]
    assert await chat.step() == step


ODD_TEXTS = [
    "\u202eevil override\u202c",  # right-to-left override
    "👩‍👩‍👧‍👦 family",  # zero-width joiner sequence
    "e\u0301\u0301\u0301 combining",
    "\u200b\u200b\u200b",  # zero-width spaces only
    "Ŵ ŷ â ê î ô û ẁ",  # Welsh letters
    "<b>not bold</b> & <script>",
    "\U0001f600" * 50,
    "\ufeffbom",
]


@pytest.mark.parametrize("text", ODD_TEXTS, ids=range(len(ODD_TEXTS)))
async def test_odd_unicode_is_answered_without_a_crash(storage: Storage, text: str) -> None:
    chat = Chat(storage)
    await chat.say("/start")
    replies = await chat.say(text, first_name=text)
    assert replies and render("runtime.failed", "en") not in replies


@pytest.mark.parametrize("text", ["half \ud83d pair", "nul \x00 byte", "bell \x07"])
async def test_unreadable_characters_are_asked_for_again(storage: Storage, text: str) -> None:
    chat = Chat(storage)
    await chat.say("/start")
    step = await chat.step()
    assert await chat.say(text) == [render("runtime.unreadable", "en")]
    assert await chat.step() == step


@pytest.mark.parametrize("chat_type", ["private", "group"])
async def test_no_filter_sends_a_message_to_a_worker_thread(
    storage: Storage, chat_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiogram runs a filter that is not a coroutine (F..., a plain function) on a thread.

    A thread hop and a wake-up of the event loop for each filter of each message: every
    filter on the way of a message is a coroutine, so none is sent to a thread.
    """
    chat = Chat(storage)
    await chat.say("/start")
    handed_to_threads: list[object] = []
    real_to_thread = asyncio.to_thread

    async def to_thread(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        handed_to_threads.append(function)
        return await real_to_thread(function, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", to_thread)
    replies = await chat.send(message_update(next(_ids), "I like gardening", chat_type=chat_type))
    assert replies  # the filters ran and something answered
    assert handed_to_threads == []
