"""GET /healthz: 200 when the database answers, 503 (JSON) when it does not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.runtime import Storage
from bot.storage.engine import create_engine
from bot.web import build_web_app


async def get_health(app: web.Application) -> tuple[int, dict[str, str]]:
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as client,
            client.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            return response.status, await response.json()
    finally:
        await runner.cleanup()


async def test_healthy_database_is_200(storage: Storage) -> None:
    status, body = await get_health(build_web_app(engine=storage.engine))
    assert (status, body) == (200, {"status": "ok", "database": "reachable"})


@pytest.fixture
async def unreachable() -> AsyncIterator[object]:
    # Port 9 on loopback: nothing listens there, so the connection is refused at once.
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    yield engine
    await engine.dispose()


async def test_unreachable_database_is_503(unreachable: object) -> None:
    status, body = await get_health(build_web_app(engine=unreachable))  # type: ignore[arg-type]
    assert (status, body) == (503, {"status": "unavailable", "database": "unreachable"})
