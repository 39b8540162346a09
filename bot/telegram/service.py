"""`codesign run` in one function: the bot on Telegram, by long polling or a webhook.

Start: bot session (with the delivery middleware), dispatcher with the update journal and
the per-chat lock, the command menu, the web server (/healthz, the webhook), a replay of
unfinished updates, then polling or setWebhook. Stop (the `stop` event, set on SIGTERM or
SIGINT): stop fetching and accepting, let updates in flight finish within the grace
period, close the web server and the bot session. The caller closes the database.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiohttp import web

from bot import attachments
from bot.config import Settings
from bot.dashboard import Dashboard
from bot.dashboard.notify import BotNotifier
from bot.runtime import Storage
from bot.storage.engine import keep_sqlite_tidy
from bot.telegram.commands import register_commands
from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
from bot.telegram.locks import ChatLocks, chat_locks_for
from bot.telegram.polling import poll
from bot.telegram.runner import UpdateRunner
from bot.telegram.sending import DeliveryMiddleware
from bot.telegram.webhook import webhook_route
from bot.web import build_web_app

logger = logging.getLogger("bot.telegram.service")


@dataclass(frozen=True, slots=True)
class Started:
    """What a caller (or a test) may want to know once the service is up."""

    mode: str  # "polling" or "webhook"
    web_port: int


def api_server(base_url: str | None) -> TelegramAPIServer:
    """Telegram itself, or the self-hosted (or test) Bot API server at `base_url`."""
    return TelegramAPIServer.from_base(base_url) if base_url else PRODUCTION


def create_bot(settings: Settings, *, delivery: DeliveryMiddleware | None = None) -> Bot:
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is not set")
    session = AiohttpSession(api=api_server(settings.bot_api_base_url))
    session.middleware(delivery or DeliveryMiddleware())
    return Bot(settings.bot_token.get_secret_value(), session=session, default=BOT_DEFAULTS)


async def serve(
    settings: Settings,
    storage: Storage,
    *,
    stop: asyncio.Event,
    delivery: DeliveryMiddleware | None = None,
    locks: ChatLocks | None = None,
    extra_routes: Iterable[web.AbstractRouteDef] = (),
    polling_timeout: int = 25,
    on_started: Callable[[Started], None] | None = None,
) -> None:
    """Serve the bot until `stop` is set, then shut down within the grace period."""
    bot = create_bot(settings, delivery=delivery)
    locks = locks or chat_locks_for(
        database_backend=settings.database.get_backend_name(), redis_url=settings.redis_url
    )
    dispatcher = build_dispatcher(
        sessions=storage.sessions,
        locks=locks,
        journal_updates=True,
        default_language=settings.default_language,
        link_code_days=settings.link_code_days,
    )
    runner = UpdateRunner(dispatcher, bot, storage.sessions)
    allowed_updates = dispatcher.resolve_used_update_types()
    webhook = None
    if settings.webhook_mode:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        webhook = webhook_route(path=settings.webhook_path, secret=secret, bot=bot, runner=runner)
    # The staff dashboard shares the server, and sends plan decisions through this bot.
    dashboard = Dashboard.from_settings(
        settings, storage.dashboard_sessions, notifier=BotNotifier(bot)
    )
    routes = [*extra_routes, *dashboard.routes()]
    web_runner = web.AppRunner(
        build_web_app(engine=storage.engine, webhook=webhook, extra_routes=routes),
        access_log=None,
        handle_signals=False,
    )
    attachments.use_drawing_processes(settings.drawing_processes)
    attachments.start_drawing()
    tidying = None
    if storage.dashboard_engine is not None:  # SQLite: search indexing, checkpoints
        tidying = asyncio.create_task(keep_sqlite_tidy(storage.engine, storage.dashboard_engine))
    try:
        await bot.get_me()
        await register_commands(bot)
        await web_runner.setup()
        site = web.TCPSite(web_runner, settings.web_host, settings.web_port)
        await site.start()
        port = _bound_port(web_runner, settings.web_port)
        await runner.replay_unfinished()
        # What start-up made (modules, templates, the dispatcher) lives as long as the
        # process: moved out of the collector's sight, a full collection no longer walks
        # it (in the benchmark one took 0.5 s, stalling every chat). Start-up's garbage is
        # collected first, or it would be kept for good.
        gc.collect()
        gc.freeze()
        mode = "webhook" if webhook is not None else "polling"
        logger.info("bot started", extra={"mode": mode, "web_port": port})
        if on_started is not None:
            on_started(Started(mode, port))
        if webhook is not None:
            await bot.set_webhook(
                f"{settings.webhook_url}{settings.webhook_path}",
                secret_token=settings.webhook_secret.get_secret_value()
                if settings.webhook_secret
                else None,
                allowed_updates=allowed_updates,
                drop_pending_updates=False,
            )
            await stop.wait()
        else:
            await bot.delete_webhook(drop_pending_updates=False)
            await poll(
                bot,
                runner,
                stop=stop,
                allowed_updates=allowed_updates,
                polling_timeout=polling_timeout,
            )
    finally:
        drained = False
        try:
            drained = await runner.drain(settings.shutdown_grace_seconds)
            gc.unfreeze()
            if tidying is not None:  # stopped, its connection back in the pool
                tidying.cancel()
                await asyncio.gather(tidying, return_exceptions=True)
            await web_runner.cleanup()
            await locks.close()
            await bot.session.close()
        finally:  # the drawing processes are stopped even when closing the rest failed
            await asyncio.to_thread(attachments.stop_drawing)
            logger.info("bot stopped", extra={"drained": drained})


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured
