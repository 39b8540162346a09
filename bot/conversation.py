"""The conversation use case: one event from one person in, rendered messages out.

Loads the person, asks dialogs/ what to answer, stores the new step and logs every
message in and out. Transport-free: the Telegram handlers and the tests call it alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import repositories
from bot.storage.repositories import LoggedEvent
from bot.texts import LANGUAGES, render
from dialogs import flow
from dialogs.events import Command, Event, Press, Text, Unsupported
from dialogs.replies import Reply

CALLBACK_DATA_LIMIT = 64  # bytes, set by Telegram


@dataclass(frozen=True, slots=True)
class Sender:
    """Who typed or pressed: their Telegram id, name and the language their phone reports."""

    telegram_user_id: int
    display_name: str
    language_code: str | None


@dataclass(frozen=True, slots=True)
class RenderedButton:
    label: str
    callback_data: str


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    text: str  # Telegram HTML
    buttons: tuple[RenderedButton, ...] = ()


@dataclass(frozen=True, slots=True)
class Answer:
    messages: tuple[RenderedMessage, ...]
    notice: str | None  # the short answer to a button press, if any


def _language_for(sender: Sender) -> str:
    code = (sender.language_code or "").split("-")[0].lower()
    return code if code in LANGUAGES else "en"


def render_reply(
    reply: Reply, language: str, shared: Mapping[str, Any] | None = None
) -> RenderedMessage:
    """Render one reply; `shared` is data every template may use (the person's name)."""
    context = {**(shared or {}), **reply.context}
    buttons = []
    for button in reply.buttons:
        if len(button.choice.encode()) > CALLBACK_DATA_LIMIT:
            raise ValueError(f"button choice {button.choice!r} is over {CALLBACK_DATA_LIMIT} bytes")
        buttons.append(
            RenderedButton(render(button.label, language, button.context), button.choice)
        )
    return RenderedMessage(render(reply.template, language, context), tuple(buttons))


def _logged_in(event: Event, step: str) -> LoggedEvent:
    match event:
        case Command(name=name, argument=argument):
            return LoggedEvent("in", "command", step, f"/{name} {argument}".strip())
        case Text(text=text):
            return LoggedEvent("in", "text", step, text)
        case Press(choice=choice):
            return LoggedEvent("choice", "press", step, choice)
        case Unsupported(kind=kind):
            return LoggedEvent("in", "unsupported", step, detail={"kind": kind})


async def respond(session: AsyncSession, *, sender: Sender, event: Event) -> Answer:
    """Answer `event` from `sender`, storing the new step and logging both directions."""
    person = await repositories.get_or_create_person(
        session,
        telegram_user_id=sender.telegram_user_id,
        display_name=sender.display_name,
        language=_language_for(sender),
    )
    outcome = flow.handle(person.step, event, person.data)
    language = person.language
    shared = {"name": person.display_name}
    messages = tuple(render_reply(reply, language, shared) for reply in outcome.replies)
    await repositories.save_conversation(
        session, person_id=person.id, step=outcome.step, data=outcome.data
    )
    logged = [_logged_in(event, person.step)]
    logged += [
        LoggedEvent("out", "message", outcome.step, message.text, {"template": reply.template})
        for message, reply in zip(messages, outcome.replies, strict=True)
    ]
    await repositories.log_events(
        session,
        person_id=person.id,
        actor_telegram_id=sender.telegram_user_id,
        events=logged,
    )
    notice = render(outcome.notice, language) if outcome.notice else None
    return Answer(messages, notice)
