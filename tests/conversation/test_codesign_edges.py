"""The conversation's edges: budgets that fit exactly or not at all, /back, restarts, buttons
pressed twice or forged, things that are not text, link codes, and limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.runtime import Storage
from bot.storage import repositories
from bot.storage.models import ConversationEvent, Plan
from dialogs.state import Conversation
from tests.chat_driver import Person, person


async def make_code(storage: Storage, *, annual_pence: int, days: int = 14) -> str:
    async with storage.sessions() as session, session.begin():
        return await repositories.create_link_code(
            session,
            display_name="Ann",
            scheme_id="adult-2026",
            annual_pence=annual_pence,
            weekly_pence=(annual_pence * 2 + 52) // 104,
            valid_for=timedelta(days=days),
        )


async def step_of(storage: Storage, p: Person) -> str:
    async with storage.sessions() as session:
        found = await repositories.person_by_telegram_id(session, telegram_user_id=p.user.id)
    assert found is not None
    return found.step


async def saved_conversation(storage: Storage, p: Person) -> Conversation:
    async with storage.sessions() as session:
        found = await repositories.person_by_telegram_id(session, telegram_user_id=p.user.id)
    assert found is not None
    return Conversation.from_data(dict(found.data))


async def to_goals_with_code(p: Person, code: str) -> None:
    await p.say("/start")
    await p.press("English")
    await p.press("Yes, go on")
    await p.press("Me")
    await p.press("I have a code")
    await p.say(code.lower().replace("-", " "))  # people type codes loosely


async def own_idea(p: Person, name: str, pounds: str, per: str) -> None:
    await p.press("My own idea")
    await p.say(name)
    await p.say(pounds)
    await p.press(per)


async def with_goal_and_ideas(p: Person) -> None:
    await p.say("I want to get out of the house and meet people")
    await p.press("Yes")
    await p.press("That's all")
    await p.press("Show me ideas")


async def test_link_code_finds_the_council_budget_once(storage: Storage) -> None:
    code = await make_code(storage, annual_pence=520_00)
    ann = person(storage)
    await to_goals_with_code(ann, code)
    assert "£520.00 a year (£10.00 a week)" in ann.texts[-2]
    bob = person(storage, user_id=99)
    await to_goals_with_code(bob, code)
    assert "did not work" in bob.texts[-2]
    assert await step_of(storage, bob) == "code"


async def test_expired_and_made_up_codes_are_refused(storage: Storage) -> None:
    expired = await make_code(storage, annual_pence=520_00, days=-1)
    ann = person(storage)
    await to_goals_with_code(ann, expired)
    assert "did not work" in ann.texts[-2]
    await ann.say("ABCD-EFGH-JK")
    assert "did not work" in ann.texts[-2]


async def test_exact_fit_leaves_nothing_and_is_not_over(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await with_goal_and_ideas(ann)
    await own_idea(ann, "A dance class", "10", "A week")
    assert "Left to plan: £0.00 a year" in ann.texts[-2]
    await ann.press("See my plan")
    assert "over the budget" not in ann.texts[-1]
    assert "Left: £0.00 a year" in ann.texts[-1]


async def test_one_penny_over_is_said_with_the_amount(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await with_goal_and_ideas(ann)
    await own_idea(ann, "A season ticket for the bus", "520.01", "A year")
    assert "£0.01 over the budget" in ann.texts[-2]
    await ann.press("See my plan")
    assert "This is £0.01 over the budget." in ann.texts[-1]


async def test_zero_budget_marks_every_idea_as_not_fitting(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=0))
    await ann.say("I want to get out of the house and meet people")
    await ann.press("Yes")
    await ann.press("That's all")
    assert "£0.00 a year" in ann.texts[-1]
    await ann.press("Show me ideas")
    ideas = ann.texts[-1]
    priced = [line for line in ideas.splitlines() if " a week (" in line and line[0].isdigit()]
    free = [line for line in priced if "£0.00 a week" in line]
    assert ideas.count("More than you have left.") >= len(priced) - len(free) - 2


async def test_no_goals_means_no_budget_step_yet(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await ann.say("I want to sleep better")
    await ann.press("Yes")
    await ann.press("Change or remove")
    await ann.press("Remove goal 1")
    assert await step_of(storage, ann) == "goal_ask"
    await ann.press_data("next")  # an old "That's all" button
    assert await step_of(storage, ann) == "goal_ask"
    assert "at least one thing" in ann.texts[-2]


async def test_not_allowed_idea_is_refused_with_the_reason(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await with_goal_and_ideas(ann)
    await own_idea(ann, "wine tasting evenings", "20", "A month")
    assert "cannot pay for" in ann.texts[-2] and "alcohol" in ann.texts[-2]
    await ann.press("See my plan")
    assert "Nothing in your plan yet." in ann.texts[-1]


async def test_bad_amount_gets_a_clear_answer(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await with_goal_and_ideas(ann)
    await ann.press("My own idea")
    await ann.say("Swimming")
    await ann.say("eight quid")
    assert 'could not read "eight quid" as an amount' in ann.texts[-2]
    await ann.say("-5")
    assert await step_of(storage, ann) == "own_cost"


async def test_confirm_pressed_twice_saves_one_plan(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await with_goal_and_ideas(ann)
    await own_idea(ann, "A dance class", "5", "A week")
    await ann.press("See my plan")
    await ann.press("Next: how the money")
    await ann.press("The council arranges it")
    confirm = dict(ann.buttons())["Confirm and send to the council"]
    await ann.press_data(confirm)
    await ann.press_data(confirm)
    assert ann.answers()[-1].text == "This button is out of date"
    async with storage.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Plan)) == 1
    await ann.say("/restart")
    assert await step_of(storage, ann) == "goal_ask"
    await ann.say("/plan")
    assert "Nothing" in ann.texts[-2] or "£0.00" in ann.texts[-2]


async def test_restart_is_refused_before_confirmation(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await ann.say("/restart")
    assert "once this one is sent" in ann.texts[-2]
    assert await step_of(storage, ann) == "goal_ask"


async def test_process_restart_mid_flow_continues(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await ann.say("I want to see my grandchildren more")
    later = person(storage)  # a new dispatcher, as after a restart
    await later.press_data("yes")
    assert "Your goals so far" in later.texts[-1]


@pytest.mark.parametrize("send", ["sticker", "photo", "voice"])
async def test_not_text_where_text_is_expected(storage: Storage, send: str) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    sender: Callable[[], Awaitable[object]] = {
        "sticker": ann.send_sticker,
        "photo": ann.send_photo,
        "voice": ann.send_voice,
    }[send]
    await sender()
    assert "only read typed words" in ann.texts[-2]
    assert "What matters to you?" in ann.texts[-1]
    assert await step_of(storage, ann) == "goal_ask"


async def test_what_a_person_typed_is_escaped(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await ann.say("<b>see</b> my & friends")
    assert "&lt;b&gt;see&lt;/b&gt; my &amp; friends" in ann.last.text


async def test_choices_are_logged_with_before_and_after(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await ann.say("/language cy")
    async with storage.sessions() as session:
        rows = list(
            await session.scalars(
                select(ConversationEvent).where(ConversationEvent.direction == "choice")
            )
        )
    language = [r for r in rows if r.body == "language"]
    assert language[-1].detail == {"before": "en", "after": "cy"}
    assert any(r.body == "budget" and r.detail["after"] == 520_00 for r in rows)


# (what the person does, the step it leads to, where /back from there returns)
BACK_SCRIPT: list[tuple[str, str, str, str]] = [
    ("press", "English", "consent", "language"),
    ("press", "Yes, go on", "who", "consent"),
    ("press", "Me", "source", "who"),
    ("press", "I have a code", "code", "source"),
    ("code", "", "goal_ask", "code"),
    ("say", "I want to get out of the house", "goal_confirm", "goal_ask"),
    ("press", "Yes", "goals_more", "goal_ask"),  # the goal is kept; /back offers another
    ("press", "That's all", "budget", "goals_more"),
    ("press", "Show me ideas", "ideas", "budget"),
    ("press", "See my plan", "plan", "ideas"),
    ("press", "Next: how the money", "management", "plan"),
    ("press", "Direct payment", "review", "management"),
]


@pytest.mark.parametrize("upto", range(len(BACK_SCRIPT)), ids=[s[2] for s in BACK_SCRIPT])
async def test_back_from_every_step(storage: Storage, upto: int) -> None:
    ann = person(storage)
    code = await make_code(storage, annual_pence=520_00)
    await ann.say("/start")
    for kind, value, reached, _ in BACK_SCRIPT[: upto + 1]:
        await act(ann, kind, value, code)
        assert await step_of(storage, ann) == reached, value
    kept = await saved_conversation(storage, ann)
    await ann.say("/back")
    assert await step_of(storage, ann) == BACK_SCRIPT[upto][3]
    assert "gone back one step" in ann.texts[-2]
    after = await saved_conversation(storage, ann)
    assert (after.goals, after.budget, after.language) == (kept.goals, kept.budget, kept.language)


async def act(p: Person, kind: str, value: str, code: str) -> None:
    if kind == "press":
        await p.press(value)
    elif kind == "say":
        await p.say(value)
    else:
        await p.say(code)


async def test_every_button_in_a_whole_run_fits_telegram(storage: Storage) -> None:
    ann = person(storage)
    await to_goals_with_code(ann, await make_code(storage, annual_pence=520_00))
    await with_goal_and_ideas(ann)
    await ann.press("1.")
    for message in ann.replies:
        if message.reply_markup is None:
            continue
        for label, data in ann.buttons(message):
            assert 1 <= len(data.encode()) <= 64 and label
        assert len(message.text) <= 4096
