"""Carers acting for a person: invites, the scope matrix, whose plan, and revocation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import SendMessage
from aiogram.types import Update
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation import Answer, Sender, respond
from bot.runtime import Storage
from bot.storage import journal, repositories
from bot.storage.models import AuditEntry, CarerLink, ConversationEvent
from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
from bot.telegram.recording import LOCAL_BOT_TOKEN, RecordingSession
from bot.texts import render
from dialogs.events import Command, Text
from tests.chat_driver import Person
from tests.fake_bot_api import message_update
from tests.people.conftest import carer_accepts, invite, ready_person

DAY = timedelta(days=1)
SCOPE_LABELS = {
    "view": "see the plan and budget",
    "help": "suggest goals and ideas",
    "full": "act fully on the plan",
}


async def pair(storage: Storage, scope: str) -> tuple[Person, Person]:
    ann = await ready_person(storage, user_id=10, name="Ann")
    code = await invite(ann, SCOPE_LABELS[scope])
    bob = await carer_accepts(storage, code, user_id=20, name="Bob")
    assert "You can now" in bob.texts[-1] and "Ann" in bob.texts[-1]
    return ann, bob


async def test_every_message_to_a_carer_says_whose_plan(storage: Storage) -> None:
    _, bob = await pair(storage, "full")
    await bob.say("/start")
    assert all(text.startswith("For Ann's plan") for text in bob.texts[-2:])
    assert "What matters to you?" in bob.texts[-1]


# (what the carer does, allowed for view, help, full)
MATRIX = [
    ("/plan", (True, True, True)),
    ("/budget", (True, True, True)),
    ("/mydata", (True, True, True)),
    ("goal", (False, True, True)),
    ("/human", (False, True, True)),
    ("/carers", (False, False, False)),
    ("/forget", (False, False, False)),
    ("/language cy", (False, False, False)),
    ("press:agree", (False, False, False)),
    ("press:confirm", (False, False, False)),
]


@pytest.mark.parametrize("scope_index", [0, 1, 2], ids=["view", "help", "full"])
@pytest.mark.parametrize(("action", "allowed"), MATRIX, ids=[m[0] for m in MATRIX])
async def test_scope_matrix(
    storage: Storage, scope_index: int, action: str, allowed: tuple[bool, bool, bool]
) -> None:
    scope = ["view", "help", "full"][scope_index]
    _, bob = await pair(storage, scope)
    if action == "goal":
        await bob.say("I want to get out more")
    elif action.startswith("press:"):
        await bob.press_data(action.removeprefix("press:"))
    else:
        await bob.say(action)
    refused = any("you cannot do that" in text for text in bob.texts[-3:])
    assert refused is not allowed[scope_index], bob.texts[-3:]


async def test_a_helpers_additions_are_proposals_the_person_confirms(storage: Storage) -> None:
    ann, bob = await pair(storage, "help")
    await bob.say("I want to get out of the house more")
    await bob.press("Yes")
    await bob.press("That's all")
    await bob.press("Show me ideas")
    await bob.press("My own idea")
    await bob.say("A dance class")
    await bob.say("8")
    await bob.press("A week")
    await bob.press("See my plan")
    assert "(suggested by Bob)" in bob.texts[-1]
    await bob.press("Next: how the money")
    await bob.press("Direct payment")  # money management is the person's choice
    assert "you cannot do that" in bob.texts[-2]
    await ann.say("/plan")
    assert "A dance class" in ann.texts[-2] and "(suggested by Bob)" in ann.texts[-2]


async def test_actor_and_subject_are_recorded(storage: Storage) -> None:
    _, bob = await pair(storage, "full")
    await bob.say("I want to see my sister")
    async with storage.sessions() as session:
        rows = list(
            await session.scalars(
                select(ConversationEvent).where(ConversationEvent.body == "I want to see my sister")
            )
        )
        audit = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert len(rows) == 1
    assert (rows[0].actor_telegram_id, rows[0].actor_role) == (20, "carer")
    ann_id = rows[0].person_id
    assert any(a.action == "carer_accepted" and a.subject_person_id == ann_id for a in audit)


async def test_revocation_takes_effect_at_the_carers_next_update(storage: Storage) -> None:
    ann, bob = await pair(storage, "full")
    await bob.say("/start")
    await ann.say("/carers")
    await ann.press("End access: Bob")
    assert "can no longer act for you" in ann.texts[-1]
    await bob.say("I want to change Ann's goals")
    assert "access to Ann's plan has ended" in bob.texts[-2] or any(
        "has ended" in t for t in bob.texts[-3:]
    )
    await ann.say("/plan")
    async with storage.sessions() as session:
        rows = list(
            await session.scalars(
                select(ConversationEvent).where(
                    ConversationEvent.body == "I want to change Ann's goals"
                )
            )
        )
    assert rows and rows[0].person_id != (await _person_id(storage, 10))


async def test_a_carer_for_two_people_chooses_whom(storage: Storage) -> None:
    ann = await ready_person(storage, user_id=10, name="Ann")
    cai = await ready_person(storage, user_id=11, name="Cai")
    bob = await carer_accepts(storage, await invite(ann, "act fully"), user_id=20, name="Bob")
    await bob.say("/whom")  # accepted invites can come in through /whom too
    code = await invite(cai, "act fully")
    await bob.say("/whom")
    await bob.press("My own")
    await bob.say("/whom")
    assert [label for label, _ in bob.buttons()] == ["Ann", "My own"]
    await bob.press("My own")
    # Bob's own conversation accepts Cai's invite at the carer step.
    await bob.say("/start")
    assert "For " not in bob.texts[-1]
    del code


async def test_invite_codes_work_once_and_only_for_others(storage: Storage) -> None:
    ann = await ready_person(storage, user_id=10, name="Ann")
    code = await invite(ann, "act fully")
    await carer_accepts(storage, code, user_id=20, name="Bob")
    eve = await carer_accepts(storage, code, user_id=30, name="Eve")
    assert "did not work" in eve.texts[-2]


async def _person_id(storage: Storage, telegram_user_id: int) -> int:
    async with storage.sessions() as session:
        found = await repositories.person_by_telegram_id(session, telegram_user_id=telegram_user_id)
    assert found is not None
    return found.id


async def test_a_chat_invite_works_for_link_code_days(storage: Storage) -> None:
    # As `codesign run` builds it from LINK_CODE_DAYS=3.
    dispatcher = build_dispatcher(sessions=storage.sessions, link_code_days=3)
    ann = await ready_person(storage, user_id=61, name="Ann", dispatcher=dispatcher)
    await invite(ann, SCOPE_LABELS["view"])
    assert "It works for 3 days." in ann.texts[-1]
    async with storage.sessions() as session:
        expires = await session.scalar(select(CarerLink.invite_expires_at))
    assert expires is not None
    left = expires.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(days=2, hours=23) < left <= timedelta(days=3)


ANN, BOB = Sender(10, "Ann", "en"), Sender(20, "Bob", "en")


async def bobs_plan_during(
    storage: Storage, anns_turn: Callable[[AsyncSession], Awaitable[None]]
) -> Answer:
    """Bob's /plan, sent while Ann's turn (`anns_turn`, its transaction still open) is under
    way: his answer, once hers has committed."""

    async def bobs_plan() -> Answer:
        async with storage.sessions() as session, session.begin():
            return await respond(session, sender=BOB, event=Command("plan", ""))

    async with storage.sessions() as first:
        await anns_turn(first)
        carers = asyncio.create_task(bobs_plan())
        await asyncio.sleep(0.3)  # Bob's turn is under way (on PostgreSQL: waiting for Ann's row)
        assert not carers.done()
        await first.commit()
    return await carers


async def test_a_carers_turn_made_while_the_persons_is_open_keeps_what_the_person_did(
    storage: Storage,
) -> None:
    """Ann's turn and her viewer's /plan at once: Bob's turn stores a state made from
    Ann's, not from the state before it (on PostgreSQL it waits for her row)."""
    await pair(storage, "view")
    ann_id = await _person_id(storage, 10)
    ann_now: list[repositories.PersonState] = []

    async def anns_goal(session: AsyncSession) -> None:
        await respond(session, sender=ANN, event=Text("I want to see my sister"))
        ann_now.append(await repositories.person_state(session, person_id=ann_id))

    answer = await bobs_plan_during(storage, anns_goal)
    assert "For Ann's plan" in answer.messages[0].text
    async with storage.sessions() as session:
        stored = await repositories.person_state(session, person_id=ann_id)
    assert (stored.step, stored.data) == (ann_now[0].step, ann_now[0].data)
    assert "I want to see my sister" in json.dumps(stored.data)


async def test_two_people_caring_for_each_other_who_write_at_once_are_both_answered(
    storage: Storage, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Each turn holds its sender's row and wants the other's: PostgreSQL fails one of them
    (a deadlock), and it is tried again. Neither is asked to send their message again."""
    await ready_person(storage, user_id=10, name="Ann")
    await ready_person(storage, user_id=20, name="Bob")
    ann_id, bob_id = await _person_id(storage, 10), await _person_id(storage, 20)
    async with storage.sessions() as session, session.begin():
        for person_id, carer_id in ((ann_id, bob_id), (bob_id, ann_id)):
            code = await repositories.create_carer_invite(
                session, person_id=person_id, scope="full", created_by="test", valid_for=DAY
            )
            assert await repositories.accept_carer_invite(session, code=code, carer_id=carer_id)
    # Each turn goes on to lock the other's row once both hold their own (or after a
    # second: SQLite has one connection, and runs the turns one after the other).
    real_person_state, arrived, both = repositories.person_state, [], asyncio.Event()

    async def once_both_are_in(session: AsyncSession, **kwargs: Any) -> Any:
        if kwargs.get("for_update"):
            arrived.append(kwargs["person_id"])
            if len(arrived) == 2:
                both.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(both.wait(), 1.0)
        return await real_person_state(session, **kwargs)

    monkeypatch.setattr(repositories, "person_state", once_both_are_in)
    recorded = RecordingSession()
    bot = Bot(LOCAL_BOT_TOKEN, session=recorded, default=BOT_DEFAULTS)
    dispatcher = build_dispatcher(sessions=storage.sessions, journal_updates=True)
    updates = [
        Update.model_validate(message_update(700 + user_id, "/plan", user_id=user_id))
        for user_id in (10, 20)
    ]
    with caplog.at_level(logging.WARNING, logger="bot.telegram.updates"):
        await asyncio.gather(*(dispatcher.feed_update(bot, update) for update in updates))
    sent = recorded.sent(SendMessage)
    assert render("runtime.failed", "en") not in [message.text for message in sent]
    banners = {(message.chat_id, message.text.split("</i>")[0]) for message in sent}
    assert banners == {(10, "<i>For Bob's plan"), (20, "<i>For Ann's plan")}
    async with storage.sessions() as session:
        for update in updates:
            entry = await journal.entry(session, update_id=update.update_id)
            assert entry is not None and entry.status == journal.DONE
    retried = "conflicted with another: trying again" in caplog.text
    assert retried == (storage.engine.dialect.name == "postgresql")  # the deadlock happened


async def test_access_ended_during_the_persons_turn_holds_for_a_carers_message_sent_then(
    storage: Storage,
) -> None:
    """Ann ends Bob's access in a turn still open when Bob writes: his message waits for
    her turn, then finds his access gone (not one last write to her plan)."""
    await pair(storage, "full")
    ann_id = await _person_id(storage, 10)

    async def anns_revocation(session: AsyncSession) -> None:
        await respond(session, sender=ANN, event=Command("carers", ""))
        [link] = await repositories.carer_links(session, person_id=ann_id)
        assert await repositories.revoke_carer(session, person_id=ann_id, link_id=link.id) == "Bob"

    answer = await bobs_plan_during(storage, anns_revocation)
    texts = [message.text for message in answer.messages]
    assert "For Ann's plan" not in " ".join(texts)
    assert any("Your access to Ann's plan has ended" in text for text in texts), texts
