"""Every sentence a person sees, rendered from Jinja2 templates by key and language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateNotFound, meta
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


@dataclass(frozen=True, slots=True)
class _Loaded:
    template: Template
    names: frozenset[str]  # the variables it reads (templates include no other template)


@cache
def _template(key: str, language: str) -> _Loaded:
    # Templates never change while the process runs (auto_reload is off): keep each one,
    # without Jinja's loader and its locked cache on every message.
    if language not in LANGUAGES:
        raise UnknownTemplate(f"no language {language!r}")
    env, path = environment(), template_path(key, language)
    try:
        template = env.get_template(path)
        source, _, _ = env.loader.get_source(env, path)  # type: ignore[union-attr]
    except TemplateNotFound:
        raise UnknownTemplate(f"no template {key!r} in {language!r}") from None
    # Jinja gives each template its globals as a ChainMap over the environment's, which it
    # reads key by key twice for every render (a twentieth of an update's time). Nothing
    # adds globals after start-up: one plain dict reads the same, several times faster.
    template.globals = dict(template.globals)
    names = meta.find_undeclared_variables(env.parse(source)) - {"say", "lang"}
    return _Loaded(template, frozenset(names))


def render(key: str, language: str, context: Mapping[str, Any] | None = None) -> str:
    """The text for `key` in `language`, with `context` filled in (HTML-escaped).

    A text depends only on its template and the values the template reads, so a text
    whose values are all plain (numbers, short codes, a name) is kept and used again:
    an update renders five to ten texts, 20-40 us each through Jinja, and most of them
    (questions, button labels, progress lines) are the same for everyone. The last 4,096
    are kept, in this process's memory only.
    """
    loaded = _template(key, language)
    given = context or {}
    # Only what the template reads is passed: the kept text cannot depend on anything else.
    used = {name: given[name] for name in loaded.names if name in given}
    if any(type(value) not in _PLAIN for value in used.values()):  # a list, a dict, ...
        return _render(loaded.template, language, used)
    # Each value's type is in the key: True and 1 are equal but render differently.
    return _rendered(key, language, frozenset((n, type(v), v) for n, v in used.items()))


_PLAIN = frozenset({str, int, float, bool, type(None), Decimal, Markup})


@lru_cache(maxsize=4096)
def _rendered(key: str, language: str, used: frozenset[tuple[str, type, Any]]) -> str:
    values = {name: value for name, _, value in used}
    return _render(_template(key, language).template, language, values)


def _render(template: Template, language: str, values: Mapping[str, Any]) -> str:
    def say(other: str, **more: Any) -> Markup:
        # Another template in the same language (an area's name, an explanation line).
        return Markup(render(other, language, more))  # noqa: S704 (already escaped)

    return tidy(template.render(**values, say=say, lang=language))


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
