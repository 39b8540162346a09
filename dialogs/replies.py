"""What the conversation answers: template keys with their data, never finished sentences."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Button:
    """A button whose label is the template `label` and which sends back `choice` when pressed."""

    label: str
    choice: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A picture or document drawn by the transport: "budget_chart" or "plan_pdf"."""

    kind: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """One message: the template to render, its data, and its buttons (one per row).

    `step_number` puts "Step N of 8" above the text; an `attachment` is sent with the
    rendered text as its caption.
    """

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    buttons: tuple[Button, ...] = ()
    step_number: int | None = None
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class ChoiceMade:
    """A choice to log with its value before and after."""

    name: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class SubmitPlan:
    """Save the confirmed plan for staff review (`plan` is the summary shown to the person)."""

    plan: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AskForHuman:
    """Queue a request for a member of staff to get in touch."""

    step: str


@dataclass(frozen=True, slots=True)
class ForgetConversation:
    """The person declined: keep nothing but the refusal."""


@dataclass(frozen=True, slots=True)
class ExportMyData:
    """Send the person everything stored about them: a readable document and a JSON file."""


@dataclass(frozen=True, slots=True)
class RequestErasure:
    """Record that the person asked for their data to be erased, for staff to handle."""


Effect = ChoiceMade | SubmitPlan | AskForHuman | ForgetConversation | ExportMyData | RequestErasure
