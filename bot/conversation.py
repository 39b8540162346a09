"""The conversation use case: one event from one person in, rendered messages out.

Loads the person and their conversation, asks dialogs/ what to answer, stores the new
state, carries out what the answer asks for (save a plan, queue a request for staff) and
logs every message in and out and every choice. Transport-free: the Telegram handlers,
the local chat and the tests all come through here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import ConversationServices, council_data
from bot.storage import repositories
from bot.storage.repositories import LoggedEvent
from bot.texts import LANGUAGES, render
from dialogs import flow
from dialogs.events import Command, Event, Press, Text, Unsupported
from dialogs.replies import (
    AskForHuman,
    Attachment,
    ChoiceMade,
    ForgetConversation,
    Reply,
    SubmitPlan,
)
from dialogs.state import Conversation

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
    text: str  # Telegram HTML; the caption when there is an attachment
    buttons: tuple[RenderedButton, ...] = ()
    attachment: Attachment | None = None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Answer:
    messages: tuple[RenderedMessage, ...]
    notice: str | None  # the short answer to a button press, if any


def phone_language(sender: Sender) -> str:
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
        # Button labels are plain text on Telegram: no HTML escapes.
        label = html.unescape(render(button.label, language, {**context, **button.context}))
        buttons.append(RenderedButton(label, button.choice))
    text = render(reply.template, language, context)
    if reply.step_number is not None:
        progress = render(
            "common.progress", language, {"number": reply.step_number, "total": flow.TOTAL_STEPS}
        )
        text = f"{progress}\n{text}"
    return RenderedMessage(text, tuple(buttons), reply.attachment, language)


def _logged_in(event: Event, step: str) -> LoggedEvent:
    match event:
        case Command(name=name, argument=argument):
            return LoggedEvent("in", "command", step, f"/{name} {argument}".strip())
        case Text(text=text):
            return LoggedEvent("in", "text", step, text)
        case Press(choice=choice):
            return LoggedEvent("in", "press", step, choice)
        case Unsupported(kind=kind):
            return LoggedEvent("in", "unsupported", step, detail={"kind": kind})


async def respond(session: AsyncSession, *, sender: Sender, event: Event) -> Answer:
    """Answer `event` from `sender`, storing the new state and logging both directions."""
    person = await repositories.get_or_create_person(
        session,
        telegram_user_id=sender.telegram_user_id,
        display_name=sender.display_name,
        language=phone_language(sender),
    )
    before = Conversation.from_data(dict(person.data))
    services = ConversationServices(council_data(), session, person.id)
    outcome = await flow.handle(before, event, services)
    after = outcome.conversation
    language = after.language or person.language
    shared = {"name": person.display_name}
    messages = tuple(render_reply(reply, language, shared) for reply in outcome.replies)

    logged = [_logged_in(event, before.step)]
    for effect in outcome.effects:
        match effect:
            case ChoiceMade(name=name, before=old, after=new):
                logged.append(
                    LoggedEvent("choice", "choice", after.step, name, {"before": old, "after": new})
                )
            case SubmitPlan(plan=plan):
                plan_id = await repositories.submit_plan(
                    session,
                    person_id=person.id,
                    summary=plan,
                    submitted_by_telegram_id=sender.telegram_user_id,
                )
                logged.append(LoggedEvent("choice", "plan_submitted", after.step, str(plan_id)))
            case AskForHuman(step=step):
                await repositories.ask_for_human(session, person_id=person.id, step=step)
                logged.append(LoggedEvent("choice", "human_requested", after.step, step))
            case ForgetConversation():
                await repositories.forget_conversation(session, person_id=person.id)
                logged = [LoggedEvent("choice", "declined", after.step, "consent declined")]
    logged += [
        LoggedEvent("out", "message", after.step, message.text, {"template": reply.template})
        for message, reply in zip(messages, outcome.replies, strict=True)
    ]
    await repositories.save_conversation(
        session, person_id=person.id, step=after.step, data=after.to_data()
    )
    await repositories.log_events(
        session, person_id=person.id, actor_telegram_id=sender.telegram_user_id, events=logged
    )
    notice = html.unescape(render(outcome.notice, language)) if outcome.notice else None
    return Answer(messages, notice)
