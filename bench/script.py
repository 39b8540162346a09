"""The whole co-design conversation as a script of steps, and Update objects built from it.

A pilot person walks the conversation once through the real dispatcher, pressing buttons
by their label as a person would; what they typed and the callback data of what they
pressed becomes the script every simulated person follows (the flow is deterministic for
the same answers). Each step also notes how many Bot API requests the bot made for it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from bench.common import scratch_database
from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
from bot.telegram.recording import LOCAL_BOT_TOKEN, RecordingSession
from formula.schemes import load_shipped_scheme

GOAL = "I feel lonely and stuck indoors since my stroke"
PILOT_USER = 7


@dataclass(frozen=True, slots=True)
class Step:
    kind: str  # "text" or "press"
    value: str  # the text typed, or the callback data pressed
    requests: int  # Bot API requests the bot made in answer


class _Pilot:
    def __init__(self, dispatcher: Any, bot: Bot, session: RecordingSession) -> None:
        self.dispatcher, self.bot, self.session = dispatcher, bot, session
        self.user = User(id=PILOT_USER, is_bot=False, first_name="Pilot", language_code="en")
        self.steps: list[Step] = []
        self.ids = itertools.count(1)

    def _last_buttons(self) -> list[tuple[str, str]]:
        for method in reversed(self.session.sent(SendMessage)):
            if method.reply_markup is not None:
                rows = method.reply_markup.inline_keyboard
                return [(b.text, b.callback_data) for row in rows for b in row]
        raise AssertionError("no buttons yet")

    def last_text(self) -> str:
        return str(self.session.sent(SendMessage)[-1].text)

    async def _feed(self, kind: str, value: str) -> None:
        before = len(self.session.requests)
        update = person_update(self.user.id, "Pilot", next(self.ids), kind, value)
        await self.dispatcher.feed_update(self.bot, update)
        self.steps.append(Step(kind, value, len(self.session.requests) - before))

    async def say(self, text: str) -> None:
        await self._feed("text", text)

    async def press(self, label: str) -> None:
        for text, data in self._last_buttons():
            if text == label or text.startswith(label):
                await self._feed("press", data)
                return
        raise AssertionError(f"no button {label!r} in {self._last_buttons()}")

    async def press_number(self, number: int) -> None:
        await self._feed("press", self._last_buttons()[number - 1][1])


async def pilot_script() -> list[Step]:
    """Walk the whole conversation once (English, the estimate questionnaire, one idea)."""
    async with scratch_database("sqlite") as scratch:
        session = RecordingSession()
        bot = Bot(LOCAL_BOT_TOKEN, session=session, default=BOT_DEFAULTS)
        pilot = _Pilot(build_dispatcher(sessions=scratch.storage.sessions), bot, session)
        await pilot.say("/start")
        await pilot.press("English")
        await pilot.press_number(1)  # agree
        await pilot.press_number(1)  # me
        await pilot.press_number(2)  # estimate
        for _ in load_shipped_scheme("adult-2026").questions:
            await pilot.press_number(2)
        await pilot.say(GOAL)
        await pilot.press("Yes")
        await pilot.press("That's all")
        await pilot.press("Why this amount?")
        await pilot.press("Show me ideas")
        await pilot.press("1.")
        if "How often" in pilot.last_text():
            await pilot.press("Once a week")
        else:
            await pilot.press("Add to my plan")
        await pilot.press("See my plan")
        await pilot.press("Next: how the money")
        await pilot.press("Direct payment")
        await pilot.press("Confirm")
        if "sent to the council" not in pilot.last_text():
            raise RuntimeError("the pilot did not reach the end of the conversation")
        return pilot.steps


def person_update(user_id: int, name: str, update_id: int, kind: str, value: str) -> Update:
    """One update from a person in their private chat (a typed text or a button press)."""
    user = User(id=user_id, is_bot=False, first_name=name, language_code="en")
    message = Message(
        message_id=update_id,
        date=datetime.now(UTC),
        chat=Chat(id=user_id, type="private"),
        from_user=user,
        text=value if kind == "text" else "(an earlier message)",
    )
    if kind == "text":
        return Update(update_id=update_id, message=message)
    query = CallbackQuery(
        id=f"{user_id}:{update_id}",
        from_user=user,
        chat_instance=str(user_id),
        message=message,
        data=value,
    )
    return Update(update_id=update_id, callback_query=query)


def people_updates(
    script: list[Step], *, people: int, first_user: int, update_ids: Iterator[int]
) -> list[list[Update]]:
    """For each simulated person, the script's updates in order (built up front)."""
    return [
        [
            person_update(user_id, f"Person {user_id}", next(update_ids), step.kind, step.value)
            for step in script
        ]
        for user_id in range(first_user, first_user + people)
    ]
