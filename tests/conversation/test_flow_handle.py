"""`dialogs.flow.handle`: the conversation it is given, copied or handed over."""

from __future__ import annotations

import dataclasses
from typing import Any

from dialogs import flow
from dialogs.events import Command, Press
from dialogs.state import Budget, Conversation, Draft, Goal, PlanItem


class NoServices:
    """Choosing a language and /start need no services: any use of them fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"services.{name} used")


async def test_the_conversation_given_is_not_changed() -> None:
    started = (await flow.handle(Conversation(), Command("start"), NoServices())).conversation
    stored = started.to_data()
    outcome = await flow.handle(started, Press("lang:cy"), NoServices())
    assert outcome.conversation.language == "cy"
    assert started.to_data() == stored
    assert outcome.conversation is not started


async def test_an_owned_conversation_is_worked_on_in_place() -> None:
    started = (await flow.handle(Conversation(), Command("start"), NoServices())).conversation
    outcome = await flow.handle(started, Press("lang:cy"), NoServices(), owned=True)
    assert outcome.conversation is started and started.language == "cy"


def test_the_stored_state_is_what_asdict_gives_and_reads_back() -> None:
    budget = Budget(
        "estimate", "adult-2026", 703_625, 13_531, points=41, lines=[{"area": "x", "p": 3}]
    )
    conversation = Conversation(
        step="plan",
        language="cy",
        consent=True,
        budget=budget,
        answers={"mobility": "2", "meals": "1"},
        goals=[Goal(1, "Mynd i'r clwb garddio", ["physical_health", "recreation"])],
        items=[PlanItem(2, 1, "Gardening club", "garden-1", 500, "per_session", "1.5")],
        history=["goals", "ideas"],
        draft=Draft(goal_text="Nofio", goal_areas=["physical_health"]),
        next_id=3,
    )
    stored = conversation.to_data()
    assert stored == dataclasses.asdict(conversation)
    # Copies, not shared: a step changing the state must not change what was stored.
    assert stored["budget"]["lines"] is not budget.lines
    assert stored["budget"]["lines"][0] is not budget.lines[0]
    assert stored["answers"] is not conversation.answers
    assert Conversation.from_data(stored) == conversation


def test_text_orjson_refuses_is_still_stored_as_asdict_gives_it() -> None:
    # Half a surrogate pair, as a broken client might send it in a goal.
    conversation = Conversation(step="goals", goals=[Goal(1, "garden \ud83c", ["recreation"])])
    stored = conversation.to_data()
    assert stored == dataclasses.asdict(conversation)
    assert Conversation.from_data(stored) == conversation
