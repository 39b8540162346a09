"""What a person can do in the conversation, whatever the transport."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command such as /start or /help, with anything typed after it."""

    name: str
    argument: str = ""


@dataclass(frozen=True, slots=True)
class Text:
    """Words the person typed."""

    text: str


@dataclass(frozen=True, slots=True)
class Press:
    """A button pressed: `choice` is the id the button carried, untrusted until checked."""

    choice: str


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Something the conversation cannot read, such as a sticker or a voice note."""

    kind: str


Event = Command | Text | Press | Unsupported
