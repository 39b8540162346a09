"""The command menu Telegram shows, in English (the default) and Welsh."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand

from bot.texts import render

COMMANDS = ("start", "help", "plan", "budget", "language", "restart", "human", "stop")
# Telegram's language code per template language; None is the menu for every other language.
MENU_LANGUAGES: dict[str, str | None] = {"en": None, "cy": "cy"}


def command_menu(language: str) -> list[BotCommand]:
    return [
        BotCommand(command=name, description=render(f"commands.{name}", language))
        for name in COMMANDS
    ]


async def register_commands(bot: Bot) -> None:
    """Tell Telegram the commands, described in each language."""
    for language, code in MENU_LANGUAGES.items():
        await bot.set_my_commands(command_menu(language), language_code=code)
