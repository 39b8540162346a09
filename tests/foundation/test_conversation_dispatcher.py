"""The dispatcher, the middlewares and storage under the conversation, on both databases."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.runtime import Storage
from bot.storage import repositories
from bot.storage.models import ConversationEvent
from tests.chat_driver import person


async def test_start_greets_by_name_and_offers_both_languages(storage: Storage) -> None:
    ann = person(storage, name="Ann")
    await ann.say("/start")
    assert ann.texts[0].startswith("Hello, Ann.")
    assert [label for label, _ in ann.buttons()] == ["English", "Cymraeg"]


async def test_pressing_a_button_is_answered_and_moves_on(storage: Storage) -> None:
    ann = person(storage)
    await ann.say("/start")
    await ann.press("English")
    assert "Are you happy to go on?" in ann.texts[-1]
    assert ann.answers()[-1].text == "OK"
    async with storage.sessions() as session:
        stored = await repositories.person_by_telegram_id(session, telegram_user_id=ann.user.id)
    assert stored is not None and stored.step == "consent"


async def test_welsh_phone_is_greeted_in_welsh(storage: Storage) -> None:
    rhys = person(storage, name="Rhys", language="cy")
    await rhys.say("/start")
    assert rhys.texts[0].startswith("Helo, Rhys.")


async def test_forged_button_is_answered_politely_and_step_shown_again(storage: Storage) -> None:
    ann = person(storage)
    await ann.say("/start")
    sent = await ann.press_data("drop table people; --")
    assert "no longer fits" in ann.texts[-2]
    assert "English or in Welsh" in ann.texts[-1]
    assert len(sent) == 2
    assert ann.answers()[-1].text == "This button is out of date"


async def test_sticker_where_a_button_is_expected_keeps_the_step(storage: Storage) -> None:
    ann = person(storage)
    await ann.say("/start")
    await ann.send_sticker()
    assert "I can only read typed words and buttons" in ann.texts[-2]
    await ann.press("English")
    assert "Are you happy to go on?" in ann.texts[-1]


async def test_state_survives_a_restart(storage: Storage) -> None:
    ann = person(storage)
    await ann.say("/start")
    await ann.press("English")
    # A new dispatcher and bot, as after the process restarts, continue from the stored step.
    again = person(storage)
    await again.press_data("agree")
    assert "Who is this plan for?" in again.texts[-1]


async def test_every_message_in_and_out_is_logged_with_the_actor(storage: Storage) -> None:
    ann = person(storage, user_id=77)
    await ann.say("/start")
    await ann.say("I want to <b>garden</b>")
    async with storage.sessions() as session:
        stored = await repositories.person_by_telegram_id(session, telegram_user_id=77)
        assert stored is not None
        log = await repositories.conversation_log(session, person_id=stored.id)
        actors = set(await session.scalars(select(ConversationEvent.actor_telegram_id)))
        count = await session.scalar(select(func.count()).select_from(ConversationEvent))
    assert [(e.direction, e.kind) for e in log][:2] == [("in", "command"), ("out", "message")]
    assert any(e.body == "I want to <b>garden</b>" for e in log)
    outgoing = [e for e in log if e.direction == "out"]
    assert len(outgoing) == len(ann.replies)
    assert actors == {77}
    assert count == len(log)


async def test_people_are_kept_apart(storage: Storage) -> None:
    ann, bob = person(storage, user_id=1, name="Ann"), person(storage, user_id=2, name="Bob")
    await ann.say("/start")
    await bob.say("/start")
    await ann.press("English")
    async with storage.sessions() as session:
        a = await repositories.person_by_telegram_id(session, telegram_user_id=1)
        b = await repositories.person_by_telegram_id(session, telegram_user_id=2)
    assert a is not None and b is not None
    assert (a.step, b.step) == ("consent", "language")
