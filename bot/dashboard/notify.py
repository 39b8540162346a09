"""Telling a person about a staff decision: through a Bot when there is one, else not at all.

`codesign run` hands the dashboard its own Bot; `codesign dashboard` makes one when
BOT_TOKEN is set. Without a Bot the decision is still saved, and the page says the person
was not told, so staff can reach them another way.
"""

from __future__ import annotations

import logging
from typing import Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.telegram.sending import send_text

logger = logging.getLogger("bot.dashboard.notify")


class Notifier(Protocol):
    async def send(self, *, chat_id: int, text: str) -> bool:
        """Send `text` (Telegram HTML) to a private chat; True if Telegram took it."""
        ...


class BotNotifier:
    """Sends through an aiogram Bot, so the bot's pacing and retries apply."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, *, chat_id: int, text: str) -> bool:
        try:
            await send_text(self.bot, chat_id, text)
        except TelegramAPIError as error:
            logger.warning("decision not delivered", extra={"error": type(error).__name__})
            return False
        return True


class NoNotifier:
    """No bot is configured: nothing is sent."""

    async def send(self, *, chat_id: int, text: str) -> bool:
        return False
