"""`dialogs.flow.handle`: the conversation it is given, copied or handed over."""

from __future__ import annotations

from typing import Any

from dialogs import flow
from dialogs.events import Command, Press
from dialogs.state import Conversation


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
