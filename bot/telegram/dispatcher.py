"""The one dispatcher factory used by every mode: Telegram, the local chat and the tests."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram.conversation import conversation_router
from bot.telegram.middlewares import DatabaseSessionMiddleware

BOT_DEFAULTS = DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True)


def build_dispatcher(*, sessions: async_sessionmaker[AsyncSession]) -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(DatabaseSessionMiddleware(sessions))
    # Order matters: more specific routers first; the conversation catches everything else.
    dispatcher.include_routers(conversation_router())
    return dispatcher
