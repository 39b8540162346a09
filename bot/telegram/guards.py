"""Input the conversation should not see: edits, group and channel chats, odd texts.

Registered before the conversation's handlers (see the dispatcher factory), so these
answers win; none of them changes where the person is in the conversation.
"""

from __future__ import annotations

import re
from functools import partial

from aiogram import Bot, Router
from aiogram.enums import ChatType
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.telegram.language import language_for, phone_language
from bot.telegram.outbox import Outbox
from bot.telegram.sending import send_text
from bot.texts import render

LONG_TEXT_LIMIT = 2000  # characters; longer texts are politely sent back to be shortened
# NUL and other control characters (tab and newlines aside), and halves of surrogate pairs,
# which no keyboard types and which databases refuse to store.
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP}


def is_unreadable(text: str) -> bool:
    return _UNREADABLE.search(text) is not None


# The filters are coroutines: aiogram runs a plain function or a magic filter (F...) on a
# worker thread, a thread hop and a wake-up of the loop for every filter of every message.


async def in_private_chat(message: Message) -> bool:
    return message.chat.type == ChatType.PRIVATE


async def _in_group_chat(message: Message) -> bool:
    return message.chat.type in _GROUPS


async def _unreadable_text(message: Message) -> bool:
    return message.text is not None and is_unreadable(message.text)


async def _too_long_text(message: Message) -> bool:
    return message.text is not None and len(message.text) > LONG_TEXT_LIMIT


def _reply(outbox: Outbox, bot: Bot, message: Message, text: str) -> None:
    outbox.later(partial(send_text, bot, message.chat.id, text))


async def on_edited(
    message: Message, bot: Bot, db: AsyncSession, default_language: str, outbox: Outbox
) -> None:
    language = await language_for(db, message.from_user, default_language)
    _reply(outbox, bot, message, render("runtime.edited", language))


async def on_group_message(
    message: Message, bot: Bot, default_language: str, outbox: Outbox
) -> None:
    language = phone_language(message.from_user, default_language)
    _reply(outbox, bot, message, render("runtime.private_only", language))


async def on_channel_post(
    message: Message, bot: Bot, default_language: str, outbox: Outbox
) -> None:
    _reply(outbox, bot, message, render("runtime.private_only", default_language))


async def on_unreadable(
    message: Message, bot: Bot, db: AsyncSession, default_language: str, outbox: Outbox
) -> None:
    language = await language_for(db, message.from_user, default_language)
    _reply(outbox, bot, message, render("runtime.unreadable", language))


async def on_too_long(
    message: Message, bot: Bot, db: AsyncSession, default_language: str, outbox: Outbox
) -> None:
    language = await language_for(db, message.from_user, default_language)
    reply = render("runtime.too_long", language, {"limit": LONG_TEXT_LIMIT})
    _reply(outbox, bot, message, reply)


def register_guards(router: Router) -> None:
    """Register the guards on `router` (the dispatcher itself) before the conversation, so
    their answers win."""
    router.edited_message.register(on_edited, in_private_chat)
    router.message.register(on_group_message, _in_group_chat)
    router.channel_post.register(on_channel_post)
    router.message.register(on_unreadable, in_private_chat, _unreadable_text)
    router.message.register(on_too_long, in_private_chat, _too_long_text)
