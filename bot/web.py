"""The aiohttp application: the Telegram webhook, /healthz, and room for more route sets.

One process can serve the bot and, later, the staff dashboard: pass its routes as
`extra_routes`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.telegram.webhook import WebHandler, WebhookRoute

HEALTH_PATH = "/healthz"
HEALTH_TIMEOUT_SECONDS = 3.0


async def database_reachable(
    engine: AsyncEngine, *, within: float = HEALTH_TIMEOUT_SECONDS
) -> bool:
    """True if the database answers a trivial query within `within` seconds."""
    try:
        async with asyncio.timeout(within), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def health_handler(engine: AsyncEngine) -> WebHandler:
    async def health(_request: web.Request) -> web.StreamResponse:
        if await database_reachable(engine):
            return web.json_response({"status": "ok", "database": "reachable"})
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)

    return health


def build_web_app(
    *,
    engine: AsyncEngine,
    webhook: WebhookRoute | None = None,
    extra_routes: Iterable[web.AbstractRouteDef] = (),
) -> web.Application:
    """The web application: /healthz always, the webhook if given, then `extra_routes`."""
    app = web.Application()
    app.router.add_get(HEALTH_PATH, health_handler(engine))
    if webhook is not None:
        app.router.add_post(webhook.path, webhook.handler)
    app.add_routes(list(extra_routes))
    return app
