"""`codesign chat`: the assistant in a terminal, through the same dispatcher as Telegram.

What the person types becomes a real aiogram Update; what the bot sends is caught by a
recording session and printed: inline buttons as numbered choices, files saved to disk.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import logging
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from aiogram import Bot, Dispatcher
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage
from aiogram.types import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update, User

from bot.telegram.dispatcher import BOT_DEFAULTS
from bot.telegram.recording import LOCAL_BOT_TOKEN, Recorded, RecordingSession

logger = logging.getLogger(__name__)
_TAG = re.compile(r"<[^>]+>")


def plain_text(telegram_html: str) -> str:
    """Telegram HTML as a terminal shows it."""
    return html.unescape(_TAG.sub("", telegram_html))


@dataclass(frozen=True, slots=True)
class ShownButton:
    label: str
    callback_data: str
    message: Message


class TerminalPrinter:
    """Prints what the bot sends and remembers the buttons of the last message that had some."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.buttons: list[ShownButton] = []

    def __call__(self, recorded: Recorded) -> None:
        method, result = recorded.method, recorded.result
        if isinstance(method, SendMessage | EditMessageText):
            self._print_message(method.text or "", method.reply_markup, result)
        elif isinstance(method, AnswerCallbackQuery) and method.text:
            self.write(f"  ({plain_text(method.text)})")
        elif recorded.file is not None:
            where = recorded.file.path or "not saved"
            self.write(f"[{recorded.file.kind} saved to {where}]")
            if recorded.file.caption:
                self.write(plain_text(recorded.file.caption))

    def _print_message(self, text: str, markup: object, result: object) -> None:
        self.write("")
        self.write(plain_text(text))
        # Numbers always refer to the newest message: one without buttons clears them.
        self.buttons = []
        if isinstance(markup, InlineKeyboardMarkup) and isinstance(result, Message):
            labels = [button for row in markup.inline_keyboard for button in row]
            self.buttons = [
                ShownButton(button.text, button.callback_data or "", result) for button in labels
            ]
            for number, button in enumerate(self.buttons, start=1):
                self.write(f"  [{number}] {button.label}")

    def write(self, line: str, end: str = "\n") -> None:
        print(line, file=self._out, end=end, flush=True)


class LocalChat:
    """One person talking to the assistant: turns typed lines into updates and feeds them."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        user: User,
        files_dir: Path,
        out: TextIO | None = None,
    ) -> None:
        self.printer = TerminalPrinter(out or sys.stdout)
        self.session = RecordingSession(files_dir=files_dir, on_request=self.printer)
        self.bot = Bot(LOCAL_BOT_TOKEN, session=self.session, default=BOT_DEFAULTS)
        self._dispatcher = dispatcher
        self._user = user
        self._ids = itertools.count(1)

    def update_for(self, line: str) -> Update:
        """A button press if the line names one of the buttons on show, else a message."""
        button = self._button_named(line)
        update_id = next(self._ids)
        if button is not None:
            query = CallbackQuery(
                id=str(update_id),
                from_user=self._user,
                chat_instance=str(self._user.id),
                message=button.message,
                data=button.callback_data,
            )
            return Update(update_id=update_id, callback_query=query)
        message = Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=self._user.id, type="private"),
            from_user=self._user,
            text=line,
        )
        return Update(update_id=update_id, message=message)

    def _button_named(self, line: str) -> ShownButton | None:
        wanted = line.strip()
        buttons = self.printer.buttons
        if wanted.isdigit() and 1 <= int(wanted) <= len(buttons):
            return buttons[int(wanted) - 1]
        folded = wanted.casefold()
        return next((b for b in buttons if b.label.casefold() == folded), None)

    async def send(self, line: str) -> None:
        try:
            await self._dispatcher.feed_update(self.bot, self.update_for(line))
        except Exception:
            # The session goes on, as it would on Telegram; the details go to the log.
            logger.exception("handling a local chat update failed")
            self.printer.write("(Something went wrong on our side. Your answers are safe.)")

    async def run(self, lines: TextIO, *, interactive: bool) -> None:
        """Feed every line until the end of input; echo lines that came from a pipe."""
        while True:
            if interactive:
                self.printer.write("\nyou> ", end="")
            line = await asyncio.to_thread(lines.readline)
            if not line:
                return
            if not line.strip():
                continue
            if not interactive:
                self.printer.write(f"\nyou> {line.strip()}")
            await self.send(line.rstrip("\n"))
