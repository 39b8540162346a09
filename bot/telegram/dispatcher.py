"""The one dispatcher factory used by every mode: Telegram, the local chat and the tests."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.telegram.conversation import register_conversation
from bot.telegram.guards import register_guards
from bot.telegram.locks import ChatLocks
from bot.telegram.middlewares import DatabaseSessionMiddleware

BOT_DEFAULTS = DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True)


def build_dispatcher(
    *,
    sessions: async_sessionmaker[AsyncSession],
    locks: ChatLocks | None = None,
    journal_updates: bool = False,
    default_language: str = "en",
    link_code_days: int = 14,
) -> Dispatcher:
    """The dispatcher; `journal_updates` (the Telegram modes) makes each update_id count once.

    Without the journal a handler's failure reaches the caller (the local chat, the tests).
    """
    # Workflow data: handlers that name these parameters receive them. No aiogram FSM:
    # the conversation's state is dialogs/' own, stored with the person, and the chat
    # locks serialise each chat's updates (its middleware cost 1% of every update).
    dispatcher = Dispatcher(
        disable_fsm=True,
        default_language=default_language,
        invite_valid_for=timedelta(days=link_code_days),
    )
    dispatcher.update.outer_middleware(
        DatabaseSessionMiddleware(
            sessions,
            locks=locks,
            journal_updates=journal_updates,
            default_language=default_language,
        )
    )
    # Order matters: the guards answer edits, group chats and odd texts before the
    # conversation sees them; the conversation catches everything else. On the dispatcher
    # itself, not on routers of their own: aiogram passes every update through each
    # included router, about 30 Python calls a router (bench/README.md, "Fifteenth round").
    register_guards(dispatcher)
    register_conversation(dispatcher)
    return dispatcher
