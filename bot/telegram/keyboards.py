"""Turning rendered messages into Telegram send arguments."""

from __future__ import annotations

from functools import lru_cache

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.conversation import RenderedButton, RenderedMessage


def inline_keyboard(message: RenderedMessage) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return _markup(message.buttons)


@lru_cache(maxsize=4096)
def _markup(buttons: tuple[RenderedButton, ...]) -> InlineKeyboardMarkup:
    """One markup for each set of buttons: most messages repeat a few keyboards, and making
    one (a pydantic model for the markup and each button) was a fortieth of an update's
    time. Shared, so never changed once made (nothing here changes a markup it sends)."""
    rows = [
        [InlineKeyboardButton(text=button.label, callback_data=button.callback_data)]
        for button in buttons
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)
