"""Talk to the real dispatcher the way a person on Telegram would, with no network.

Builds real aiogram Update objects and feeds them through `build_dispatcher`; the bot's
session records what would have been sent.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import AnswerCallbackQuery, SendDocument, SendMessage, SendPhoto
from aiogram.types import CallbackQuery, Chat, Message, PhotoSize, Sticker, Update, User, Voice

from bot.local_chat import plain_text
from bot.runtime import Storage
from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
from bot.telegram.recording import LOCAL_BOT_TOKEN, RecordingSession

_update_ids = itertools.count(1000)


@dataclass
class Person:
    """One simulated person and what the bot sent them."""

    dispatcher: Dispatcher
    bot: Bot
    session: RecordingSession
    user: User
    chat_type: str = "private"
    replies: list[SendMessage] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        return [plain_text(message.text) for message in self.replies]

    @property
    def last(self) -> SendMessage:
        return self.replies[-1]

    def buttons(self, message: SendMessage | None = None) -> list[tuple[str, str]]:
        markup: Any = (message or self.last_with_buttons()).reply_markup
        return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row]

    def last_with_buttons(self) -> SendMessage:
        return next(m for m in reversed(self.replies) if m.reply_markup is not None)

    def photos(self) -> list[SendPhoto]:
        return self.session.sent(SendPhoto)

    def documents(self) -> list[SendDocument]:
        return self.session.sent(SendDocument)

    def answers(self) -> list[AnswerCallbackQuery]:
        return self.session.sent(AnswerCallbackQuery)

    async def _feed(self, update: Update) -> list[SendMessage]:
        before = len(self.session.sent(SendMessage))
        await self.dispatcher.feed_update(self.bot, update)
        new = self.session.sent(SendMessage)[before:]
        self.replies.extend(new)
        return new

    def _message(self, **content: Any) -> Message:
        update_id = next(_update_ids)
        return Message(
            message_id=update_id,
            date=datetime.now(UTC),
            chat=Chat(id=self.user.id if self.chat_type == "private" else -1, type=self.chat_type),
            from_user=self.user,
            **content,
        )

    async def say(self, text: str) -> list[SendMessage]:
        return await self._feed(
            Update(update_id=next(_update_ids), message=self._message(text=text))
        )

    async def send_sticker(self) -> list[SendMessage]:
        sticker = Sticker(
            file_id="s",
            file_unique_id="s",
            type="regular",
            width=1,
            height=1,
            is_animated=False,
            is_video=False,
        )
        return await self._feed(
            Update(update_id=next(_update_ids), message=self._message(sticker=sticker))
        )

    async def send_photo(self) -> list[SendMessage]:
        photo = [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]
        return await self._feed(
            Update(update_id=next(_update_ids), message=self._message(photo=photo))
        )

    async def send_voice(self) -> list[SendMessage]:
        voice = Voice(file_id="v", file_unique_id="v", duration=3)
        return await self._feed(
            Update(update_id=next(_update_ids), message=self._message(voice=voice))
        )

    async def press_data(self, callback_data: str) -> list[SendMessage]:
        """Press a button carrying `callback_data`, real or forged."""
        update_id = next(_update_ids)
        query = CallbackQuery(
            id=str(update_id),
            from_user=self.user,
            chat_instance="test",
            message=self._message(text="(an earlier message)"),
            data=callback_data,
        )
        return await self._feed(Update(update_id=update_id, callback_query=query))

    async def press(self, label: str) -> list[SendMessage]:
        """Press the button labelled `label` (or starting with it) on the latest buttons."""
        for text, data in self.buttons():
            if text == label or text.startswith(label):
                return await self.press_data(data)
        raise AssertionError(f"no button {label!r} in {self.buttons()}")

    async def press_number(self, number: int) -> list[SendMessage]:
        return await self.press_data(self.buttons()[number - 1][1])


def person(
    storage: Storage,
    *,
    user_id: int = 42,
    name: str = "Ann",
    language: str = "en",
    chat_type: str = "private",
    dispatcher: Dispatcher | None = None,
) -> Person:
    session = RecordingSession()
    bot = Bot(LOCAL_BOT_TOKEN, session=session, default=BOT_DEFAULTS)
    user = User(id=user_id, is_bot=False, first_name=name, language_code=language)
    return Person(
        dispatcher or build_dispatcher(sessions=storage.sessions), bot, session, user, chat_type
    )
