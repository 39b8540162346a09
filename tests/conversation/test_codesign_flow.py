"""The whole co-design conversation through the real dispatcher, as a person would have it."""

from __future__ import annotations

from sqlalchemy import select

from bot.runtime import Storage
from bot.storage import repositories
from bot.storage.models import ConversationEvent, HumanRequest, Plan
from formula.schemes import load_shipped_scheme
from tests.chat_driver import Person, person


async def through_estimate(p: Person, *, language: str = "English", option: int = 2) -> None:
    await p.say("/start")
    await p.press(language)
    await p.press_number(1)  # agree
    await p.press_number(1)  # me
    await p.press_number(2)  # estimate
    for _ in load_shipped_scheme("adult-2026").questions:
        await p.press_number(option)


async def test_whole_conversation_in_english(storage: Storage) -> None:
    ann = person(storage)
    await through_estimate(ann)
    assert "estimated budget is" in ann.texts[-2]
    await ann.say("I feel lonely and stuck indoors since my stroke")
    assert "lonely" in ann.texts[-1] and "Is that right?" in ann.texts[-1]
    await ann.press("Yes")
    await ann.press("That's all")
    assert ann.photos(), "the budget chart is sent as a picture"
    assert "Step 5 of 8" in ann.texts[-1]
    await ann.press("Why this amount?")
    assert "How your budget was worked out" in ann.texts[-1]
    await ann.press("Show me ideas")
    assert "Step 6 of 8" in ann.texts[-1] and "Ideas for" in ann.texts[-1]
    await ann.press("1.")
    if "How often" in ann.texts[-1]:
        await ann.press("Once a week")
    else:
        await ann.press("Add to my plan")
    assert any("Added" in text for text in ann.texts[-3:])
    await ann.press("See my plan")
    assert "Step 7 of 8" in ann.texts[-1] and "Total:" in ann.texts[-1]
    await ann.press("Next: how the money")
    await ann.press("Direct payment")
    assert "Step 8 of 8" in ann.texts[-1]
    review = ann.texts[-1]
    for heading in (
        "What matters to you",
        "How your needs will be met",
        "Your personal budget",
        "How the money will be managed",
    ):
        assert heading in review
    await ann.press("Confirm")
    assert ann.documents(), "the plan is sent as a PDF"
    assert "sent to the council" in ann.texts[-1]
    async with storage.sessions() as session:
        plans = list(await session.scalars(select(Plan)))
    assert len(plans) == 1 and plans[0].status == "submitted"
    assert plans[0].planned_annual_pence > 0


async def test_whole_conversation_in_welsh(storage: Storage) -> None:
    rhys = person(storage, name="Rhys", language="cy")
    await through_estimate(rhys, language="Cymraeg")
    assert "Cam 4 o 8" in rhys.texts[-1]
    await rhys.say("Rydw i eisiau mynd i'r clwb garddio, I feel lonely")
    await rhys.press_number(1)
    await rhys.press_number(3)
    assert "Cam 5 o 8" in rhys.texts[-1]
    assert "Eich cyllideb" in rhys.texts[-1]


async def test_back_keeps_answers(storage: Storage) -> None:
    ann = person(storage)
    await through_estimate(ann)
    await ann.say("/back")
    assert "gone back" in ann.texts[-2]


async def test_human_request_is_queued(storage: Storage) -> None:
    ann = person(storage)
    await through_estimate(ann)
    await ann.say("/human")
    async with storage.sessions() as session:
        requests = list(await session.scalars(select(HumanRequest)))
    assert len(requests) == 1 and requests[0].step == "goal_ask"


async def test_declining_keeps_only_the_refusal(storage: Storage) -> None:
    ann = person(storage, user_id=555)
    await ann.say("/start")
    await ann.press("English")
    await ann.press("No, thank you")
    async with storage.sessions() as session:
        stored = await repositories.person_by_telegram_id(session, telegram_user_id=555)
        assert stored is not None
        events = list(await session.scalars(select(ConversationEvent)))
    assert [e.kind for e in events if e.direction != "out"] == ["declined"]
