"""Handlers for the conversation: translate an update into a dialog event, answer, send.

The answer is worked out and stored in the update's transaction; sending it waits in the
outbox until the transaction has committed. Its charts and PDFs start being drawn (in the
drawing process) as soon as the answer is known, beside the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from datetime import timedelta
from functools import partial

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile, CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attachments import drawn_attachment
from bot.conversation import Answer, Sender, respond
from bot.telegram.guards import in_private_chat
from bot.telegram.keyboards import inline_keyboard
from bot.telegram.outbox import Outbox
from bot.telegram.sending import send_text
from dialogs.events import Command, Event, Press, Text, Unsupported

logger = logging.getLogger("bot.telegram.conversation")


def _sender(user: User) -> Sender:
    name = " ".join(part for part in (user.first_name, user.last_name) if part)
    return Sender(user.id, name, user.language_code)


def message_event(message: Message) -> Event:
    """What the person did, in the conversation's terms."""
    if message.text is None:
        return Unsupported(message.content_type)
    text = message.text.strip()
    if text.startswith("/"):
        head, _, argument = text[1:].partition(" ")
        return Command(head.split("@")[0].lower(), argument.strip())
    return Text(text)


def _send_later(outbox: Outbox, bot: Bot, chat_id: int, answer: Answer) -> None:
    """Put the answer in the outbox; its charts and PDFs start being drawn now, so the
    drawing process works while this update's transaction commits."""
    drawings = {
        number: outbox.start(drawn_attachment(rendered.attachment, rendered.language))
        for number, rendered in enumerate(answer.messages)
        if rendered.attachment is not None
    }
    outbox.later(partial(_send, bot, chat_id, answer, drawings))


async def _send(
    bot: Bot,
    chat_id: int,
    answer: Answer,
    drawings: Mapping[int, Awaitable[tuple[str, bytes, str]]],
) -> None:
    for number, rendered in enumerate(answer.messages):
        if rendered.attachment is None:
            await send_text(bot, chat_id, rendered.text, reply_markup=inline_keyboard(rendered))
            continue
        name, content, caption = await drawings[number]
        upload = BufferedInputFile(content, filename=name)
        # The numbers go in a real message too: some screen readers skip captions.
        if rendered.attachment.kind == "budget_chart":
            await bot.send_photo(chat_id, upload, caption=caption)
        else:
            await bot.send_document(chat_id, upload, caption=caption)
        if rendered.text:
            await send_text(bot, chat_id, rendered.text, reply_markup=inline_keyboard(rendered))


async def on_message(
    message: Message, bot: Bot, db: AsyncSession, invite_valid_for: timedelta, outbox: Outbox
) -> None:
    if message.from_user is None:
        return
    answer = await respond(
        db,
        sender=_sender(message.from_user),
        event=message_event(message),
        invite_valid_for=invite_valid_for,
    )
    outbox.person_id = answer.person_id
    _send_later(outbox, bot, message.chat.id, answer)


async def on_press(
    callback: CallbackQuery,
    bot: Bot,
    db: AsyncSession,
    invite_valid_for: timedelta,
    outbox: Outbox,
) -> None:
    answer = await respond(
        db,
        sender=_sender(callback.from_user),
        event=Press(callback.data or ""),
        invite_valid_for=invite_valid_for,
    )
    outbox.person_id = answer.person_id
    outbox.later(partial(_answer_press, callback, answer.notice))
    _send_later(outbox, bot, callback.from_user.id, answer)


async def _answer_press(callback: CallbackQuery, notice: str | None) -> None:
    """Stop the spinner on the person's phone; a courtesy, so its failure is only logged.

    Telegram refuses answers to old presses ("query is too old"): a press replayed at the
    next start, or one that waited long behind others, must still get its reply.
    """
    try:
        await callback.answer(notice)
    except TelegramAPIError as error:
        logger.warning("press not answered", extra={"error": type(error).__name__})


def register_conversation(router: Router) -> None:
    """Register the co-design conversation in private chats on `router` (the dispatcher
    itself), after the guards: it catches every message and press they leave."""
    router.message.register(on_message, in_private_chat)
    router.callback_query.register(on_press)
