"""Every template renders in English and Welsh, and what a person typed is escaped."""

from __future__ import annotations

import pytest

from bot.texts import LANGUAGES, UnknownTemplate, render, template_keys

# Realistic data for every name any template may use.
SAMPLE = {"name": "Siân O'Brien", "kind": "sticker"}


def test_both_languages_have_the_same_keys() -> None:
    english = template_keys("en")
    assert english, "no templates found"
    for language in LANGUAGES:
        assert template_keys(language) == english


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_with_realistic_data(language: str) -> None:
    for key in template_keys(language):
        rendered = render(key, language, SAMPLE)
        assert rendered.strip(), f"{language}/{key} rendered empty"
        assert len(rendered) <= 4096


def test_welsh_is_not_english() -> None:
    same = [k for k in template_keys("en") if render(k, "en", SAMPLE) == render(k, "cy", SAMPLE)]
    assert same == []


def test_typed_text_is_escaped() -> None:
    assert "&lt;script&gt;" in render("welcome.greeting", "en", {"name": "<script>"})


def test_unknown_key_or_language_is_refused() -> None:
    with pytest.raises(UnknownTemplate):
        render("no.such.key", "en")
    with pytest.raises(UnknownTemplate):
        render("welcome.greeting", "fr")
