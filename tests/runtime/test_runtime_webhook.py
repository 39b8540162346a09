"""Webhook mode: Telegram POSTs updates with a secret header; the web app serves /healthz too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.config import Settings, load_settings
from bot.runtime import Storage
from bot.storage import journal
from bot.telegram.webhook import SECRET_HEADER, secret_matches
from tests.fake_bot_api import FakeBotAPI, message_update, serving

SECRET = "s3cret_webhook-token"
PATH = "/telegram/hook"


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    api = await FakeBotAPI().start()
    yield api
    await api.close()


def webhook_settings(fake: FakeBotAPI, storage: Storage) -> Settings:
    backend = storage.engine.url.get_backend_name()
    database = "sqlite+aiosqlite:///unused.db" if backend == "sqlite" else str(storage.engine.url)
    return load_settings(
        bot_token=fake.token,
        bot_api_base_url=fake.url,
        database_url=database,
        webhook_url="https://bot.example.org",
        webhook_path=PATH,
        webhook_secret=SECRET,
        web_port=0,
    )


async def post(port: int, body: dict[str, Any], headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as client,
        client.post(f"http://127.0.0.1:{port}{PATH}", json=body, headers=headers) as response,
    ):
        return response.status


async def until_done(storage: Storage, update_id: int) -> None:
    async with asyncio.timeout(5):
        while True:
            async with storage.sessions() as session:
                entry = await journal.entry(session, update_id=update_id)
            if entry is not None and entry.status == journal.DONE:
                return
            await asyncio.sleep(0.02)


async def test_webhook_is_set_with_the_secret_and_answers_updates(
    clean_env: Path, storage: Storage, fake: FakeBotAPI
) -> None:
    async with serving(webhook_settings(fake, storage), storage) as started:
        assert started.mode == "webhook"
        status = await post(started.web_port, message_update(10, "/start"), {SECRET_HEADER: SECRET})
        assert status == 200
        await until_done(storage, 10)
        sent = len(await fake.wait_for("sendMessage"))  # replies go after the commit
        # Telegram re-sends the same update: no second reply.
        assert await post(started.web_port, message_update(10, "/start"), {SECRET_HEADER: SECRET})
        await post(started.web_port, message_update(11, "/help"), {SECRET_HEADER: SECRET})
        await until_done(storage, 11)
    assert sent >= 1
    assert fake.webhook is not None
    assert fake.webhook["url"] == f"https://bot.example.org{PATH}"
    assert fake.webhook["secret_token"] == SECRET
    assert not fake.calls_to("getUpdates")
    async with storage.sessions() as session:
        assert (await journal.entry(session, update_id=10)).attempts == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    "headers",
    [{}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}, {SECRET_HEADER: "ŵ"}],
    ids=["missing", "wrong", "longer", "non-ascii"],
)
async def test_a_missing_or_wrong_secret_gets_401_and_no_effect(
    clean_env: Path, storage: Storage, fake: FakeBotAPI, headers: dict[str, str]
) -> None:
    async with serving(webhook_settings(fake, storage), storage) as started:
        assert await post(started.web_port, message_update(20, "/start"), headers) == 401
    async with storage.sessions() as session:
        assert await journal.entry(session, update_id=20) is None
    assert not fake.calls_to("sendMessage")


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_other_route_sets_share_the_server(
    clean_env: Path, storage: Storage, fake: FakeBotAPI
) -> None:
    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="staff dashboard")

    routes = [web.get("/staff/", hello)]
    async with (
        serving(webhook_settings(fake, storage), storage, extra_routes=routes) as started,
        aiohttp.ClientSession() as client,
    ):
        async with client.get(f"http://127.0.0.1:{started.web_port}/staff/") as response:
            assert await response.text() == "staff dashboard"
        async with client.get(f"http://127.0.0.1:{started.web_port}/healthz") as response:
            assert response.status == 200


def test_secret_comparison() -> None:
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches("", SECRET)
    assert not secret_matches(SECRET[:-1], SECRET)
    assert not secret_matches("ŵ", SECRET)
