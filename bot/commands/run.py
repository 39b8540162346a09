"""`codesign run`: serve the bot on Telegram (long polling, or a webhook with WEBHOOK_URL)."""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from bot.commands import CommandError
from bot.config import Settings, load_settings
from bot.logging_setup import configure_logging


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="serve the bot on Telegram (long polling, or a webhook when WEBHOOK_URL is set)",
        description=(
            "Serve the bot on Telegram until SIGTERM or SIGINT: long polling, or a webhook "
            "when WEBHOOK_URL is set. Also serves GET /healthz on WEB_HOST:WEB_PORT. "
            "Needs BOT_TOKEN and a database at the latest schema."
        ),
    )
    parser.add_argument(
        "--migrate",
        action="store_true",
        help="bring the database up to the latest schema first (as `codesign db upgrade`)",
    )
    parser.set_defaults(handler=run)


def check_settings(settings: Settings) -> None:
    """The settings `run` needs beyond the defaults, each problem as one line."""
    if settings.bot_token is None:
        raise CommandError("BOT_TOKEN: is not set; get a token from @BotFather and set BOT_TOKEN")
    if settings.webhook_mode and settings.webhook_secret is None:
        raise CommandError(
            "WEBHOOK_SECRET: is required when WEBHOOK_URL is set; "
            "use 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    check_settings(settings)
    secrets = [s.get_secret_value() for s in (settings.bot_token, settings.webhook_secret) if s]
    configure_logging(settings.log_level, secrets=secrets)
    return asyncio.run(_run(settings, migrate=args.migrate))


async def _run(settings: Settings, *, migrate: bool) -> int:
    from bot.commands._runtime import storage_for
    from bot.storage import migrate as migrations
    from bot.telegram.locks import RedisChatLocks
    from bot.telegram.service import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with storage_for(settings, apply_migrations=migrate) as storage:
        revision, head = await migrations.revision_of(storage.engine), migrations.head_revision()
        if revision != head:
            raise CommandError(
                f"DATABASE_URL: the database is at revision {revision or 'empty'}, "
                f"this version needs {head}; run: codesign db upgrade (or codesign run --migrate)"
            )
        locks = None
        if settings.redis_url:
            locks = RedisChatLocks.from_url(settings.redis_url)
            try:
                await locks.ping()
            except Exception as error:
                await locks.close()
                raise CommandError(
                    f"REDIS_URL: cannot reach Redis: {type(error).__name__}"
                ) from None
        await serve(settings, storage, stop=stop, locks=locks)
    return 0
