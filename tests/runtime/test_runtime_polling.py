"""`codesign run` in long-polling mode, over real HTTP against a fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.types import BufferedInputFile
from sqlalchemy import func, select, text

from bot.config import Settings, load_settings
from bot.runtime import Storage, open_storage
from bot.storage import journal, search_index
from bot.storage.models import ConversationEvent
from bot.telegram.commands import COMMANDS
from bot.telegram.sending import DeliveryMiddleware
from bot.telegram.service import create_bot
from tests.fake_bot_api import FakeBotAPI, message_update, serving

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])  # transport, not storage


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = await FakeBotAPI().start()
    yield api
    await api.close()


def settings_for(fake: FakeBotAPI, storage: Storage, **overrides: object) -> Settings:
    backend = storage.engine.url.get_backend_name()
    database = "sqlite+aiosqlite:///unused.db" if backend == "sqlite" else str(storage.engine.url)
    return load_settings(
        bot_token=fake.token,
        bot_api_base_url=fake.url,
        database_url=database,
        web_port=0,
        shutdown_grace_seconds=5,
        **overrides,
    )


async def log_rows(storage: Storage) -> int:
    async with storage.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ConversationEvent)) or 0)


async def test_an_update_is_fetched_answered_and_journaled(
    clean_env: Path, storage: Storage, fake: FakeBotAPI
) -> None:
    gc.unfreeze()
    async with serving(settings_for(fake, storage), storage):
        assert gc.get_freeze_count() > 0, "start-up's objects are out of the collector's way"
        fake.push_update(message_update(500, "/start", first_name="<b>Ann</b>"))
        sent = await fake.wait_for("sendMessage")
    assert gc.get_freeze_count() == 0
    assert sent[0].chat_id == 42
    assert all("<b>Ann</b>" not in text for text in fake.sent_texts())  # escaped or absent
    assert [c.method for c in fake.calls][:2] == ["getMe", "setMyCommands"]
    assert fake.calls_to("deleteWebhook"), "polling needs the webhook removed"
    async with storage.sessions() as session:
        row = await journal.entry(session, update_id=500)
    assert row is not None and row.status == journal.DONE and row.payload is None


@SQLITE_ONLY
async def test_commands_are_registered_in_english_and_welsh(
    clean_env: Path, storage: Storage, fake: FakeBotAPI
) -> None:
    async with serving(settings_for(fake, storage), storage):
        calls = await fake.wait_for("setMyCommands", 2)
    menus = {call.params.get("language_code"): call.json("commands") for call in calls}
    assert set(menus) == {None, "cy"}
    for menu in menus.values():
        assert [c["command"] for c in menu] == list(COMMANDS)
        assert all(0 < len(c["description"]) <= 256 for c in menu)
    assert menus[None][0]["description"] != menus["cy"][0]["description"]


async def done(storage: Storage, update_id: int, within: float = 5.0) -> journal.JournalEntry:
    """Wait until the update is journaled as done (its transaction committed; its replies
    are sent after that)."""
    async with asyncio.timeout(within):
        while True:
            async with storage.sessions() as session:
                entry = await journal.entry(session, update_id=update_id)
            if entry is not None and entry.status == journal.DONE:
                return entry
            await asyncio.sleep(0.02)


async def test_a_redelivered_update_changes_nothing(
    clean_env: Path, storage: Storage, fake: FakeBotAPI
) -> None:
    async with serving(settings_for(fake, storage), storage):
        fake.push_update(message_update(700, "/start"))
        await done(storage, 700)
        rows = await log_rows(storage)
        # Replies go after the commit: wait for /start's (one in, one row per reply out).
        sent = len(await fake.wait_for("sendMessage", rows - 1))
        fake.push_update(message_update(700, "/start"))  # Telegram sends it again
        fake.push_update(message_update(701, "/help"))  # and then something new
        await done(storage, 701)
    help_replies = len(fake.sent_texts()) - sent
    assert help_replies >= 1
    # Only the /help added rows (one in, one per reply); the second /start added none.
    assert await log_rows(storage) == rows + 1 + help_replies
    assert (await done(storage, 700)).attempts == 1


@SQLITE_ONLY
async def test_flood_control_429_is_waited_out(
    clean_env: Path, storage: Storage, fake: FakeBotAPI
) -> None:
    fake.answer_429("sendMessage", retry_after=1)
    async with serving(settings_for(fake, storage), storage):
        fake.push_update(message_update(800, "/start"))
        await fake.wait_for("sendMessage")
    refused, delivered = fake.calls_to("sendMessage")[:2]
    assert refused.params["text"] == delivered.params["text"]
    assert delivered.started - refused.started >= 0.95  # retry_after honoured


@SQLITE_ONLY
async def test_a_dropped_connection_is_retried(
    clean_env: Path, storage: Storage, fake: FakeBotAPI
) -> None:
    fake.drop_connection("sendMessage")
    fake.drop_connection("getUpdates")
    async with serving(settings_for(fake, storage), storage):
        fake.push_update(message_update(900, "/start"))
        await fake.wait_for("sendMessage")
    attempts = fake.calls_to("sendMessage")
    assert attempts[0].finished is None and attempts[1].finished is not None
    assert attempts[0].params["text"] == attempts[1].params["text"]


async def test_uploads_go_as_multipart_through_the_same_session(
    clean_env: Path, fake: FakeBotAPI
) -> None:
    bot = create_bot(load_settings(bot_token=fake.token, bot_api_base_url=fake.url))
    try:
        await bot.send_document(42, BufferedInputFile(b"%PDF-1.4 plan", filename="plan.pdf"))
        await bot.send_photo(42, BufferedInputFile(b"\x89PNG chart", filename="chart.png"))
    finally:
        await bot.session.close()
    document, photo = fake.calls_to("sendDocument")[0], fake.calls_to("sendPhoto")[0]
    assert document.files == {"document": b"%PDF-1.4 plan"}
    assert photo.files == {"photo": b"\x89PNG chart"}


async def test_messages_to_one_chat_are_paced(clean_env: Path, fake: FakeBotAPI) -> None:
    settings = load_settings(bot_token=fake.token, bot_api_base_url=fake.url)
    bot = create_bot(settings, delivery=DeliveryMiddleware(per_chat_rate=10, per_chat_burst=1))
    try:
        start = time.monotonic()
        for _ in range(3):
            await bot.send_message(42, "hello")
        await bot.send_message(7, "another chat is not held up")
    finally:
        await bot.session.close()
    to_42 = [c.started for c in fake.calls_to("sendMessage") if c.chat_id == 42]
    # The n-th message may leave n tenths of a second after the first at the earliest, so
    # it arrives no sooner. (The gaps between arrivals also take the loopback's jitter:
    # 0.087 s was seen between two messages sent 0.1 s apart.)
    late_enough = [arrived - start >= n * 0.1 - 0.005 for n, arrived in enumerate(to_42)]
    assert len(to_42) == 3 and all(late_enough), [arrived - start for arrived in to_42]
    other = next(c for c in fake.calls_to("sendMessage") if c.chat_id == 7)
    assert other.started - start >= 0.18  # queued behind nothing but its own slot


async def test_on_sqlite_the_service_adds_new_messages_to_the_search_index(
    clean_env: Path, fake: FakeBotAPI, tmp_path: Path
) -> None:
    """`codesign run` on the embedded database indexes what the chats wrote, every second,
    without a search asking for it (bot.storage.search_index)."""
    settings = settings_for_sqlite_file(fake, tmp_path / "codesign.db")
    storage = await open_storage(settings, apply_migrations=True)
    assert storage.dashboard_engine is not None
    try:
        async with serving(settings, storage):
            fake.push_update(message_update(700, "/start"))
            await fake.wait_for("sendMessage")
            async with storage.sessions() as session:
                assert await search_index.waiting_messages(session) > 0  # queued by the update
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                async with storage.sessions() as session:
                    if await search_index.waiting_messages(session) == 0:
                        break
                await asyncio.sleep(0.1)
        async with storage.sessions() as session:
            assert await search_index.waiting_messages(session) == 0
            indexed = await session.scalar(
                text("SELECT count(*) FROM conversation_events_fts WHERE body MATCH 'start'")
            )
        assert indexed == 1  # the person's "/start", found by the index itself
    finally:
        await storage.engine.dispose()
        await storage.dashboard_engine.dispose()


def settings_for_sqlite_file(fake: FakeBotAPI, path: Path) -> Settings:
    return load_settings(
        bot_token=fake.token,
        bot_api_base_url=fake.url,
        database_url=f"sqlite+aiosqlite:///{path}",
        web_port=0,
        shutdown_grace_seconds=5,
    )
