"""The first steps of the conversation: greeting and a first choice.

Transition table (the diagram beside this file, flow.mmd, draws the same):

| step     | event                 | replies                          | next step |
|----------|-----------------------|----------------------------------|-----------|
| new      | /start                | welcome.greeting [About, Begin]  | welcome   |
| any      | /start                | welcome.greeting [About, Begin]  | welcome   |
| welcome  | press "about"         | welcome.about [Begin]            | welcome   |
| welcome  | press "begin"         | welcome.begin                    | started   |
| any      | /help                 | common.help, then the step again | unchanged |
| any      | other text            | common.reprompt, step again      | unchanged |
| any      | unknown or old button | common.stale_button, step again  | unchanged |
| any      | sticker, photo, ...   | common.unsupported, step again   | unchanged |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from dialogs.events import Command, Event, Press, Text, Unsupported
from dialogs.replies import Button, Outcome, Reply


class Step(StrEnum):
    NEW = "new"
    WELCOME = "welcome"
    STARTED = "started"


class Choice(StrEnum):
    ABOUT = "about"
    BEGIN = "begin"


def _prompt(step: Step) -> tuple[Reply, ...]:
    """The message that asks for what `step` needs (shown again after anything unexpected)."""
    if step is Step.WELCOME:
        return (
            Reply(
                "welcome.greeting",
                buttons=(
                    Button("welcome.button_about", Choice.ABOUT),
                    Button("welcome.button_begin", Choice.BEGIN),
                ),
            ),
        )
    if step is Step.STARTED:
        return (Reply("welcome.begin"),)
    return (Reply("common.start_hint"),)


def _greet(_step: Step) -> Outcome:
    return Outcome(replies=_prompt(Step.WELCOME), step=Step.WELCOME)


def _about(_step: Step) -> Outcome:
    reply = Reply("welcome.about", buttons=(Button("welcome.button_begin", Choice.BEGIN),))
    return Outcome(replies=(reply,), step=Step.WELCOME, notice="welcome.notice_about")


def _begin(_step: Step) -> Outcome:
    return Outcome(replies=_prompt(Step.STARTED), step=Step.STARTED, notice="common.notice_ok")


def _help(step: Step) -> Outcome:
    return Outcome(replies=(Reply("common.help"), *_prompt(step)), step=step)


COMMANDS: Mapping[str, Callable[[Step], Outcome]] = {"start": _greet, "help": _help}
PRESSES: Mapping[tuple[Step, str], Callable[[Step], Outcome]] = {
    (Step.WELCOME, Choice.ABOUT): _about,
    (Step.WELCOME, Choice.BEGIN): _begin,
}


def handle(step: str, event: Event, data: Mapping[str, Any] | None = None) -> Outcome:
    """Answer one event in the conversation, given the step the person is at."""
    current = Step(step) if step in Step.__members__.values() else Step.NEW
    kept = dict(data or {})
    match event:
        case Command(name=name) if name in COMMANDS:
            outcome = COMMANDS[name](current)
        case Press(choice=choice) if (current, choice) in PRESSES:
            outcome = PRESSES[(current, choice)](current)
        case Press():
            outcome = Outcome(
                replies=(Reply("common.stale_button"), *_prompt(current)),
                step=current,
                notice="common.notice_stale",
            )
        case Unsupported(kind=kind):
            replies = (Reply("common.unsupported", {"kind": kind}), *_prompt(current))
            outcome = Outcome(replies=replies, step=current)
        case Command() | Text():
            outcome = Outcome(replies=(Reply("common.reprompt"), *_prompt(current)), step=current)
    return Outcome(
        replies=outcome.replies,
        step=outcome.step,
        data={**kept, **outcome.data},
        notice=outcome.notice,
    )
