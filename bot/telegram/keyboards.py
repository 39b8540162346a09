"""Turning rendered messages into Telegram send arguments."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.conversation import RenderedMessage


def inline_keyboard(message: RenderedMessage) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    rows = [
        [InlineKeyboardButton(text=button.label, callback_data=button.callback_data)]
        for button in message.buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)
