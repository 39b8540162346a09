"""Every sentence a person sees, rendered from Jinja2 templates by key and language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateNotFound
from markupsafe import Markup

from formula.money import format_pounds

TEMPLATES = Path(__file__).resolve().parent / "templates"
LANGUAGES = ("en", "cy")
SUFFIX = ".j2"


class UnknownTemplate(LookupError):
    """A template key that has no file in the requested language."""


@cache
def environment() -> Environment:
    # Autoescape: chat messages use Telegram's HTML mode, so anything a person typed is escaped.
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        auto_reload=False,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_pounds
    return env


def template_path(key: str, language: str) -> str:
    return f"{language}/{key.replace('.', '/')}{SUFFIX}"


@cache
def _template(key: str, language: str) -> Template:
    # Templates never change while the process runs (auto_reload is off): keep each one,
    # without Jinja's loader and its locked cache on every message.
    if language not in LANGUAGES:
        raise UnknownTemplate(f"no language {language!r}")
    try:
        template = environment().get_template(template_path(key, language))
    except TemplateNotFound:
        raise UnknownTemplate(f"no template {key!r} in {language!r}") from None
    # Jinja gives each template its globals as a ChainMap over the environment's, which it
    # reads key by key twice for every render (a twentieth of an update's time). Nothing
    # adds globals after start-up: one plain dict reads the same, several times faster.
    template.globals = dict(template.globals)
    return template


def render(key: str, language: str, context: Mapping[str, Any] | None = None) -> str:
    """The text for `key` in `language`, with `context` filled in (HTML-escaped)."""
    template = _template(key, language)

    def say(other: str, **values: Any) -> Markup:
        # Another template in the same language (an area's name, an explanation line).
        return Markup(render(other, language, values))  # noqa: S704 (already escaped)

    return tidy(template.render(**(context or {}), say=say, lang=language))


_BLANK_RUNS = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Trailing spaces off each line, and never more than one blank line in a row."""
    lines = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return _BLANK_RUNS.sub("\n\n", lines)


def template_keys(language: str) -> list[str]:
    """Every template key that exists in `language`, sorted."""
    root = TEMPLATES / language
    return sorted(
        str(path.relative_to(root).with_suffix("")).replace("/", ".")
        for path in root.rglob(f"*{SUFFIX}")
    )
