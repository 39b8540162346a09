"""Every template renders in English and Welsh with realistic data; typed text is escaped."""

from __future__ import annotations

from typing import Any

import pytest
from markupsafe import Markup

from bot.texts import (
    LANGUAGES,
    UnknownTemplate,
    _rendered,
    environment,
    render,
    template_keys,
    template_path,
    tidy,
)

GOALS = [
    {"text": "I want to get out of the house more", "areas": ["participation", "social_economic"]},
    {"text": "Sleep better, I'm always tired", "areas": ["health"]},
]
ITEMS = [
    {
        "name": "Gardening club",
        "goal": GOALS[0]["text"],
        "frequency": "per_session",
        "sessions": "1",
        "unit_pence": 500,
        "weekly_pence": 500,
        "annual_pence": 26000,
        "needs_approval": False,
        "reason": "",
        "proposed_by": "",
    },
    {
        "name": "Gym membership",
        "goal": GOALS[1]["text"],
        "frequency": "per_month",
        "sessions": "1",
        "unit_pence": 3500,
        "weekly_pence": 808,
        "annual_pence": 42000,
        "needs_approval": True,
        "reason": "Gym memberships over £300 a year go to the panel.",
        "proposed_by": "Bob",
    },
]
IDEA = {
    "id": "gardening_club",
    "name": "Gardening club",
    "description": "Grow things with others.",
    "quotes": ["stuck indoors"],
    "weekly_pence": 500,
    "annual_pence": 26000,
    "fits": True,
    "alternative_to": "therapy",
    "frequency": "per_session",
    "unit_pence": 500,
}
# Realistic data for every name any template may use.
SAMPLE: dict[str, Any] = {
    "name": "Siân O'Brien",
    "kind": "sticker",
    "number": 3,
    "total": 8,
    "count": 13,
    "question": "How much help do you need with washing and dressing?",
    "goal": GOALS[0]["text"],
    "areas": GOALS[0]["areas"],
    "goals": GOALS,
    "area": "health",
    "on": True,
    "what": "plan",
    "source": "estimate",
    "annual_pence": 703625,
    "weekly_pence": 13531,
    "planned_annual_pence": 68000,
    "planned_weekly_pence": 1308,
    "left_annual_pence": 635625,
    "left_weekly_pence": 12223,
    "over_pence": 0,
    "by_goal": [{"goal": GOALS[0]["text"], "annual_pence": 26000}],
    "lines": [
        {
            "kind": "answer",
            "key": "washing",
            "points": 12,
            "amount_pence": 0,
            "values": {"topic": "Washing and dressing", "points": 12},
        }
    ],
    "ideas": [IDEA],
    "cheaper": [IDEA],
    "left_pence": 635625,
    "first_page": True,
    "items": ITEMS,
    "budget_annual_pence": 703625,
    "budget_weekly_pence": 13531,
    "estimate": True,
    "management": "direct_payment",
    "acting_for": "self",
    "language": "en",
    "means_tested": True,
    "unit_pence": 800,
    "frequency": "per_week",
    "sessions": "0.5",
    "option": "mix",
    "typed": "eight quid",
    "reason": "A personal budget cannot pay for alcohol.",
    "needs_approval": True,
    "label": "Yes, most days",
    "limit": 2000,
    "scope": "help",
    "code": "ABCD-EFGH-JK",
    "days": 14,
    "subject": "Ann",
    "accepted": True,
    "export": {"person": {"id": 1}},
    "carers": [
        {"name": "Bob", "scope": "view", "accepted": True},
        {"name": "", "scope": "full", "accepted": False},
    ],
    # explanation lines
    "topic": "Washing and dressing",
    "points": 130,
    "weight_percent": 125,
    "raw_points": 20,
    "weighted_points": 25,
    "price_per_point_pence": 15000,
    "from_points": 116,
    "to_points": 130,
    "band_pence": 100000,
    "points_above": 4,
    "top_points": 185,
    "rate_pence": 5000,
    "percent": "2.5",
    "base_pence": 690000,
    "amount_pence": 17250,
    "floor_pence": 52000,
    "before_pence": 30000,
    "cap_pence": 1800000,
    "contribution_annual_pence": 78000,
    "assessed_weekly_pence": 1500,
    "limited": False,
    # a staff decision on a plan
    "comment": "Please say how often the gardening club meets & what it costs <per term>.",
}


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
        assert len(rendered) <= 4096, key


def test_welsh_is_not_english() -> None:
    # Labels that are data (a name, the language names) are the same in both languages.
    same_by_design = {
        "common.label",
        "welcome.english",
        "welcome.welsh",
        "goals.area_button",
        "plan.manage",
    }
    same = [
        k
        for k in template_keys("en")
        if k not in same_by_design and render(k, "en", SAMPLE) == render(k, "cy", SAMPLE)
    ]
    assert same == []


def test_typed_text_is_escaped() -> None:
    assert "&lt;script&gt;" in render("goals.confirm", "en", {**SAMPLE, "goal": "<script>"})


def test_unknown_key_or_language_is_refused() -> None:
    with pytest.raises(UnknownTemplate):
        render("no.such.key", "en")
    with pytest.raises(UnknownTemplate):
        render("welcome.greeting", "fr")


def _jinja_alone(key: str, language: str, context: dict[str, Any]) -> str:
    """The template rendered by Jinja with the whole context: nothing kept, nothing left out."""
    template = environment().get_template(template_path(key, language))

    def say(other: str, **values: Any) -> Markup:
        return Markup(_jinja_alone(other, language, values))

    return tidy(template.render(**context, say=say, lang=language))


@pytest.mark.parametrize("language", LANGUAGES)
def test_kept_texts_are_what_jinja_renders(language: str) -> None:
    """Rendered twice (the second time from what was kept) and for two people: as Jinja has it."""
    for key in template_keys(language):
        for name in ("Ann", "Bob"):
            context = {**SAMPLE, "name": name}
            expected = _jinja_alone(key, language, context)
            assert render(key, language, context) == expected, key
            assert render(key, language, context) == expected, key


def test_a_text_is_kept_whatever_values_it_does_not_read() -> None:
    render("common.progress", "en", {"number": 3, "total": 9, "name": "Ann"})
    kept_before = _rendered.cache_info()
    again = render("common.progress", "en", {"number": 3, "total": 9, "name": "Bob", "x": [1]})
    assert again == render("common.progress", "en", {"number": 3, "total": 9})
    assert _rendered.cache_info().hits > kept_before.hits
    assert _rendered.cache_info().currsize == kept_before.currsize


def test_equal_values_of_other_types_are_kept_apart() -> None:
    assert "Step 1 of 9" in render("common.progress", "en", {"number": 1, "total": 9})
    assert "Step True of 9" in render("common.progress", "en", {"number": True, "total": 9})
