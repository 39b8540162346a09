"""The dashboard's own Jinja2 environment: HTML pages for staff, English only."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from formula.money import format_pounds

TEMPLATES = Path(__file__).resolve().parent / "templates"


def when(moment: datetime | None) -> str:
    """A time as staff read it: 23 Nov 2026, 13:04 (UTC)."""
    if moment is None:
        return "never"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%d %b %Y, %H:%M")


def machine_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def highlight(value: str, terms: Iterable[str]) -> Markup:
    """`value`, escaped, with each search term marked."""
    words = [re.escape(t) for t in terms if t]
    if not words:
        return escape(value)
    pattern = re.compile("(" + "|".join(words) + ")", re.IGNORECASE)
    parts = pattern.split(value)
    return Markup("").join(
        Markup("<mark>{}</mark>").format(part) if index % 2 else escape(part)
        for index, part in enumerate(parts)
    )


_TAGS = re.compile(r"<[^<>]*>")


def plain(value: str) -> str:
    """Telegram HTML as the person read it: tags off, entities back to characters."""
    return html.unescape(_TAGS.sub("", value))


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["money"] = format_pounds
    env.filters["when"] = when
    env.filters["machine_time"] = machine_time
    env.filters["highlight"] = highlight
    env.filters["plain"] = plain
    return env


def page(name: str, context: Mapping[str, Any]) -> str:
    return environment().get_template(name).render(**context)
