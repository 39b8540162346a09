"""Goal understanding and suggestions: phrasings, alternatives, budget, exclusions, paging."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.ideas import Catalogue, load_catalogue, suggest, understand_goal
from formula.wellbeing import WellbeingArea as W


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.mark.parametrize(
    ("goal", "concept", "quote", "area", "one_of"),
    [
        ("I'm so lonely", "loneliness", "lonely", W.RELATIONSHIPS, {"befriending", "lunch_club"}),
        (
            "I have no one I can talk to",
            "loneliness",
            "no one I can talk",
            W.RELATIONSHIPS,
            {"befriending", "peer_support_group"},
        ),
        (
            "stuck indoors all day",
            "stuck_indoors",
            "stuck indoors",
            W.PARTICIPATION,
            {"community_support_worker", "walking_group", "community_transport"},
        ),
        ("im anxous all the time", "anxiety", "anxous", W.HEALTH, {"anxiety_course"}),
        ("stressed out at work", "stress", "stressed out", W.HEALTH, {"stress_workshop"}),
        ("my knees", "joints_pain", "knees", W.HEALTH, {"chair_exercise", "hydrotherapy"}),
        ("cant sleep", "sleep", "cant sleep", W.HEALTH, {"sleep_course"}),
        ("I can't sleep", "sleep", "can't sleep", W.HEALTH, {"sleep_course"}),
        (
            "my mum gets confused and wanders",
            "wandering",
            "wanders",
            W.HEALTH,
            {"gps_tracker", "door_sensor"},
        ),
        ("I want to get a job", "work", "get a job", W.SOCIAL_ECONOMIC, {"job_coach"}),
        ("I keep falling over", "falls", "falling", W.PROTECTION, {"personal_alarm"}),
    ],
)
def test_ordinary_phrasings_are_understood(
    catalogue: Catalogue, goal: str, concept: str, quote: str, area: W, one_of: set[str]
) -> None:
    reading = understand_goal(goal, catalogue)
    assert (quote, concept) in {(m.quote, m.concept_id) for m in reading.matches}
    assert area in reading.areas[:2]
    top = [s.item.id for s in suggest(goal, catalogue, limit=3).items]
    assert one_of & set(top), top


def test_words_inside_other_words_do_not_match(catalogue: Catalogue) -> None:
    assert not understand_goal("the weather was unforgettable", catalogue).understood
    assert understand_goal("", catalogue).areas == ()


def test_why_quotes_the_goal_and_says_it_in_a_sentence(catalogue: Catalogue) -> None:
    first = suggest("I feel so lonely", catalogue).items[0]
    assert [m.quote for m in first.why.matched] == ["lonely"]
    assert '"lonely"' in first.why.sentence
    assert first.why.sentence.startswith(first.item.name)


@pytest.mark.parametrize(
    ("goal", "formal", "formal_item"),
    [
        ("I think I need therapy", "therapy", "counselling"),
        ("they offered him the day centre", "day centre", "day_centre"),
        ("I need respite", "respite care", "respite_break"),
    ],
)
def test_a_named_formal_service_comes_with_marked_alternatives(
    catalogue: Catalogue, goal: str, formal: str, formal_item: str
) -> None:
    items = suggest(goal, catalogue, limit=5).items
    ids = [s.item.id for s in items]
    assert formal_item in ids
    alternatives = [s for s in items if s.alternative_to == formal]
    assert len(alternatives) >= 2
    assert all(s.item.kind.value != "formal_service" for s in alternatives)
    assert all(f"alternative to {formal}" in s.why.sentence for s in alternatives)
    named = next(s for s in items if s.item.id == formal_item)
    assert named.alternative_to is None


def test_alternatives_stay_even_when_the_page_is_small(catalogue: Catalogue) -> None:
    items = suggest("therapy", catalogue, limit=2).items
    assert [s.alternative_to for s in items].count("therapy") >= 1


def test_refusing_a_formal_service_keeps_the_alternatives_but_not_the_service(
    catalogue: Catalogue,
) -> None:
    items = suggest("he won't go to counselling", catalogue).items
    assert "counselling" not in [s.item.id for s in items]
    assert all(s.alternative_to == "therapy" for s in items[:2])


def test_items_over_the_budget_are_marked_not_dropped_and_cheaper_ones_offered(
    catalogue: Catalogue,
) -> None:
    unlimited = suggest("I think I need therapy", catalogue, limit=5)
    tight = suggest("I think I need therapy", catalogue, budget_left_pence=50_000, limit=5)
    assert [s.item.id for s in tight.items] == [s.item.id for s in unlimited.items]
    assert all(s.fits_budget is None for s in unlimited.items)
    counselling = next(s for s in tight.items if s.item.id == "counselling")
    assert counselling.annual_pence == 5000 * 52
    assert counselling.weekly_pence == 5000
    assert counselling.fits_budget is False
    assert tight.cheaper_options
    on_page = {s.item.id for s in tight.items}
    for option in tight.cheaper_options:
        assert option.fits_budget is True
        assert option.annual_pence <= 50_000
        assert option.item.id not in on_page


def test_no_cheaper_options_when_everything_fits(catalogue: Catalogue) -> None:
    result = suggest("I'm lonely", catalogue, budget_left_pence=10_000_000)
    assert all(s.fits_budget for s in result.items)
    assert result.cheaper_options == []


def test_chosen_items_are_not_suggested_again(catalogue: Catalogue) -> None:
    first = suggest("I'm lonely", catalogue, limit=3)
    chosen = [s.item.id for s in first.items]
    again = suggest("I'm lonely", catalogue, limit=3, exclude_ids=chosen)
    assert not set(chosen) & {s.item.id for s in again.items}
    assert len(again.items) == 3


def test_paging_with_offset_and_has_more(catalogue: Catalogue) -> None:
    goal = "lonely and bored"
    whole = [s.item.id for s in suggest(goal, catalogue, limit=8).items]
    first = suggest(goal, catalogue, limit=4)
    second = suggest(goal, catalogue, limit=4, offset=4)
    assert [s.item.id for s in first.items + second.items] == whole
    assert first.has_more
    assert not suggest("want to learn guitar", catalogue, limit=50).has_more


def test_bad_limit_or_offset_is_refused(catalogue: Catalogue) -> None:
    with pytest.raises(ValueError, match="limit"):
        suggest("lonely", catalogue, limit=0)
    with pytest.raises(ValueError, match="offset"):
        suggest("lonely", catalogue, offset=-1)


_SHARED = load_catalogue()  # Hypothesis runs many examples: load once.


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=200), exclude=st.lists(st.sampled_from(["befriending", "lunch_club"])))
def test_any_text_gives_a_well_formed_answer(text: str, exclude: list[str]) -> None:
    result = suggest(text, _SHARED, budget_left_pence=1000, exclude_ids=exclude, limit=4)
    assert len(result.items) <= 4
    ids = [s.item.id for s in result.items]
    assert len(ids) == len(set(ids))
    assert not set(exclude) & set(ids)
    for s in result.items:
        assert s.fits_budget is (s.annual_pence <= 1000)
        assert s.why.sentence


@pytest.mark.parametrize(
    ("goal", "dropped", "kept"),
    [
        ("I'm not lonely, I just can't get out", "loneliness", "stuck_indoors"),
        ("she isn't depressed but she is bored", "low_mood", "structure"),
        ("he is not really anxious, he has no friends", "anxiety", "loneliness"),
    ],
)
def test_a_denied_problem_is_dropped(
    catalogue: Catalogue, goal: str, dropped: str, kept: str
) -> None:
    found = {m.concept_id for m in understand_goal(goal, catalogue).matches}
    assert dropped not in found and kept in found


@pytest.mark.parametrize(
    ("goal", "concept"),
    [
        ("I'm not sleeping", "sleep"),  # an activity that is missing is a need
        ("I can not sleep", "sleep"),  # an inability is a need
        ("I'm not confident", "confidence"),  # a good state that is missing is a need
        ("I'm not eating properly", "cooking_eating"),
    ],
)
def test_a_missing_good_thing_is_not_a_denial(
    catalogue: Catalogue, goal: str, concept: str
) -> None:
    assert concept in {m.concept_id for m in understand_goal(goal, catalogue).matches}


def test_a_modifier_concept_only_strengthens_items_that_fit_the_topic(
    catalogue: Catalogue,
) -> None:
    # "learn" alone points at learning; beside "guitar" it must not pull in other courses.
    alone = [s.item.id for s in suggest("I want to learn", catalogue, limit=3).items]
    assert alone
    top = [s.item.id for s in suggest("want to learn the piano", catalogue, limit=3).items]
    assert top[0] == "music_lessons"
    assert not {"art_course", "pottery_class", "photography_course"} & set(top), top
