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
class Reply:
    """One message: the template to render, its data, and its buttons (rows of one)."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one event: messages to send, the state to keep, and the press answer."""

    replies: tuple[Reply, ...]
    step: str
    data: Mapping[str, Any] = field(default_factory=dict)
    notice: str | None = None  # template for the short answer to a button press
