"""The conversation use case: one event from one person in, rendered messages out.

Loads the person and their conversation, asks dialogs/ what to answer, stores the new
state, carries out what the answer asks for (save a plan, queue a request for staff) and
logs every message in and out and every choice. Transport-free: the Telegram handlers,
the local chat and the tests all come through here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.services import INVITE_VALID_FOR, ConversationServices, Who, council_data
from bot.storage import repositories, turns
from bot.storage.engine import json_of
from bot.storage.repositories import LoggedEvent
from bot.texts import LANGUAGES, render
from dialogs import flow
from dialogs.events import Command, Event, Press, Text, Unsupported
from dialogs.ports import PERSON, Actor, Scope
from dialogs.replies import (
    AskForHuman,
    Attachment,
    ChoiceMade,
    ExportMyData,
    ForgetConversation,
    Reply,
    RequestErasure,
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
    person_id: int | None = None  # whose transcript the messages are logged in


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


@dataclass(frozen=True, slots=True)
class Party:
    """Resolved for one update: who acts, for whom, and in which language they read."""

    who: Who
    actor: Actor
    subject: repositories.PersonState
    language: str
    banner: str | None  # "For Ann's plan", when a carer acts
    note: str | None  # access ended since the carer's last message
    conversation: Conversation  # the subject's, made from the stored form for this event


async def _party(session: AsyncSession, sender: Sender) -> Party:
    me = await repositories.get_or_create_person(
        session,
        telegram_user_id=sender.telegram_user_id,
        display_name=sender.display_name,
        language=phone_language(sender),
    )
    own = Conversation.from_data(dict(me.data))
    own_language = own.language or me.language
    acting_for = me.acting_for_id
    note = None
    if acting_for is not None:
        # The person's row is locked, as the claim locks the sender's own, before their
        # carers are read: the turn stores a state made from this one, and the person (or
        # another carer) may be mid-turn on it, revoking this carer's access perhaps.
        subject = await repositories.person_state(session, person_id=acting_for, for_update=True)
        link = await repositories.active_link(session, person_id=acting_for, carer_id=me.id)
        if link is not None:
            return Party(
                Who(me.id, sender.telegram_user_id, "carer", subject.id),
                Actor("carer", me.display_name, Scope(link.scope)),
                subject,
                own_language,
                render("carer.banner", own_language, {"subject": subject.display_name}),
                None,
                Conversation.from_data(dict(subject.data)),
            )
        # Revoked since the last message: the carer is back in their own conversation.
        await repositories.set_acting_for(session, person_id=me.id, acting_for_id=None)
        note = render("carer.access_ended", own_language, {"name": subject.display_name})
    return Party(
        Who(me.id, sender.telegram_user_id, "person", me.id),
        PERSON,
        me,
        own_language,
        None,
        note,
        own,
    )


async def respond(
    session: AsyncSession,
    *,
    sender: Sender,
    event: Event,
    invite_valid_for: timedelta = INVITE_VALID_FOR,
) -> Answer:
    """Answer `event` from `sender`, storing the new state and logging both directions.

    `invite_valid_for`: how long a carer invite made in this update works (LINK_CODE_DAYS).
    """
    party = await _party(session, sender)
    who, subject = party.who, party.subject
    before = party.conversation
    step_before = before.step
    # Appended to the person's chain together, when the turn is saved: what the services
    # audit as they work, then what the outcome's effects say.
    audit_events: list[audit.AuditEvent] = []
    services = ConversationServices(
        council_data(), session, who, audit_events, invite_valid_for=invite_valid_for
    )
    # Made from the stored form for this event alone: the flow may work on it in place.
    outcome = await flow.handle(before, event, services, party.actor, owned=True)
    after = outcome.conversation
    language = party.language if party.actor.is_carer else after.language or subject.language
    shared = {"name": subject.display_name}
    messages = [render_reply(reply, language, shared) for reply in outcome.replies]
    logged = [_logged_in(event, step_before)]
    logged += [
        LoggedEvent("out", "message", after.step, message.text, {"template": reply.template})
        for message, reply in zip(messages, outcome.replies, strict=True)
    ]

    def audited(action: str, **detail: object) -> None:
        audit_events.append(who.audit_event(action, detail))

    for effect in outcome.effects:
        match effect:
            case ChoiceMade(name=name, before=old, after=new):
                logged.append(
                    LoggedEvent("choice", "choice", after.step, name, {"before": old, "after": new})
                )
                audited("choice", name=name, before=old, after=new)
            case SubmitPlan(plan=plan):
                plan_id = await repositories.submit_plan(
                    session,
                    person_id=subject.id,
                    summary=plan,
                    submitted_by_telegram_id=sender.telegram_user_id,
                )
                logged.append(LoggedEvent("choice", "plan_submitted", after.step, str(plan_id)))
                audited("plan_submitted", plan=plan_id)
            case AskForHuman(step=step):
                await repositories.ask_for_human(session, person_id=subject.id, step=step)
                logged.append(LoggedEvent("choice", "human_requested", after.step, step))
                audited("human_requested", step=step)
            case ForgetConversation():
                await repositories.forget_conversation(session, person_id=subject.id)
                logged = [LoggedEvent("choice", "declined", after.step, "consent declined")]
                audited("consent_declined")
            case RequestErasure():
                await repositories.request_erasure(
                    session, person_id=subject.id, requested_by_telegram_id=sender.telegram_user_id
                )
                logged.append(LoggedEvent("choice", "erasure_requested", after.step))
                audited("erasure_requested")
            case ExportMyData():
                export = await repositories.export_person(session, person_id=subject.id)
                messages += _export_messages(export, language, subject.display_name)
                logged.append(LoggedEvent("choice", "data_exported", after.step))
                audited("data_exported")
    await turns.save_turn(
        session,
        person_id=subject.id,
        step=after.step,
        data=json_of(after, after.to_data),
        actor_telegram_id=sender.telegram_user_id,
        actor_role=who.actor_kind,
        events=logged,
        audit_events=audit_events,
    )
    if party.banner:
        messages = [replace(m, text=f"{party.banner}\n{m.text}") for m in messages]
    if party.note:
        messages.insert(0, RenderedMessage(party.note, language=language))
    notice = html.unescape(render(outcome.notice, language)) if outcome.notice else None
    return Answer(tuple(messages), notice, subject.id)


def _export_messages(export: Mapping[str, Any], language: str, name: str) -> list[RenderedMessage]:
    data = {"export": dict(export), "name": name}
    # Documents alone: their captions say what they are.
    return [
        RenderedMessage("", attachment=Attachment(kind, data), language=language)
        for kind in ("mydata_document", "mydata_json")
    ]
