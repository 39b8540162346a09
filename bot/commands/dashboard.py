"""`codesign dashboard`: serve the staff dashboard alone (`codesign run` serves it too)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from aiohttp import web

from bot.commands._runtime import storage_for
from bot.config import Settings, load_settings
from bot.dashboard import PREFIX, Dashboard
from bot.dashboard.notify import BotNotifier, Notifier
from bot.logging_setup import configure_logging
from bot.web import build_web_app

logger = logging.getLogger("bot.dashboard")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="serve the staff dashboard alone on WEB_HOST:WEB_PORT",
        description=(
            "Serve the staff dashboard (and /healthz) on WEB_HOST:WEB_PORT until SIGTERM or "
            "SIGINT, after bringing the database to the latest schema. With BOT_TOKEN set, "
            "plan decisions are sent to people on Telegram."
        ),
    )
    parser.set_defaults(handler=run)


def run(_args: argparse.Namespace) -> int:
    settings = load_settings()
    secrets = [s.get_secret_value() for s in (settings.bot_token,) if s]
    configure_logging(settings.log_level, secrets=secrets)
    return asyncio.run(serve_dashboard(settings))


async def serve_dashboard(settings: Settings, *, stop: asyncio.Event | None = None) -> int:
    from bot.telegram.service import create_bot

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bot = create_bot(settings) if settings.bot_token is not None else None
    notifier: Notifier | None = BotNotifier(bot) if bot is not None else None
    async with storage_for(settings, apply_migrations=True) as storage:
        dashboard = Dashboard.from_settings(settings, storage.dashboard_sessions, notifier=notifier)
        app = build_web_app(engine=storage.engine, extra_routes=dashboard.routes())
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.web_host, settings.web_port)
            await site.start()
            logger.info(
                "dashboard started",
                extra={"web_port": settings.web_port, "path": PREFIX, "telegram": bot is not None},
            )
            await stop.wait()
        finally:
            await runner.cleanup()
            if bot is not None:
                await bot.session.close()
    return 0
