"""Hypothesis properties of allocate() on the shipped schemes, and of validation on any TOML."""

from __future__ import annotations

import contextlib
import copy
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from formula import (
    Allocation,
    Answers,
    LineKind,
    RulesError,
    Scheme,
    allocate,
    load_shipped_scheme,
    parse_scheme,
    parse_scheme_text,
)

SCHEMES = {
    scheme_id: load_shipped_scheme(scheme_id) for scheme_id in ("adult-2026", "children-2026")
}


@st.composite
def scheme_and_answers(draw: st.DrawFn) -> tuple[Scheme, Answers]:
    scheme = SCHEMES[draw(st.sampled_from(sorted(SCHEMES)))]
    choices = {}
    for question in scheme.questions:
        if question.required or draw(st.booleans()):
            choices[question.id] = draw(st.sampled_from(question.options)).id
    contribution = draw(st.integers(0, 200_000)) if scheme.means_tested else None
    return scheme, Answers(choices, contribution)


def half_up_weekly(annual: int) -> int:
    return int((Decimal(annual) / 52).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(scheme_and_answers())
def test_never_negative_and_within_floor_and_cap(case: tuple[Scheme, Answers]) -> None:
    scheme, answers = case
    allocation = allocate(answers, scheme)
    assert allocation.annual_pence >= 0
    assert allocation.weekly_pence >= 0
    assert allocation.contribution_annual_pence >= 0
    assert scheme.floor_pence <= allocation.personal_budget_annual_pence <= scheme.cap_pence
    assert allocation.annual_pence <= allocation.personal_budget_annual_pence


@given(scheme_and_answers())
def test_weekly_and_annual_agree_to_the_penny(case: tuple[Scheme, Answers]) -> None:
    allocation = allocate(case[1], case[0])
    pairs = [
        (allocation.annual_pence, allocation.weekly_pence),
        (allocation.personal_budget_annual_pence, allocation.personal_budget_weekly_pence),
        (allocation.contribution_annual_pence, allocation.contribution_weekly_pence),
    ]
    for annual, weekly in pairs:
        assert weekly == half_up_weekly(annual)
        assert -26 < 52 * weekly - annual <= 26  # within half a week's penny of the year


def check_sums(allocation: Allocation) -> None:
    lines = allocation.lines
    assert sum(line.points for line in lines) == allocation.points
    assert sum(line.amount_pence for line in lines) == allocation.annual_pence
    kinds = [line.kind for line in lines]
    before = lines[: kinds.index(LineKind.PERSONAL_BUDGET)]
    assert sum(line.amount_pence for line in before) == allocation.personal_budget_annual_pence
    assert lines[-1].kind is LineKind.RESULT
    assert lines[-1].values["annual_pence"] == allocation.annual_pence
    assert lines[-1].values["weekly_pence"] == allocation.weekly_pence
    for line in lines:
        assert line.text  # every line has its English sentence


@given(scheme_and_answers())
def test_explanation_lines_add_up_to_the_result(case: tuple[Scheme, Answers]) -> None:
    check_sums(allocate(case[1], case[0]))


@given(scheme_and_answers(), st.data())
def test_more_points_never_means_less_money(
    case: tuple[Scheme, Answers], data: st.DataObject
) -> None:
    scheme, answers = case
    question = data.draw(st.sampled_from(scheme.questions))
    current = answers.choices.get(question.id)
    current_points = 0 if current is None else question.option(current).points
    higher = [o for o in question.options if o.points >= current_points]
    raised = data.draw(st.sampled_from(higher))
    # The carer element is keyed to named answers; it must only ever add.
    more = Answers({**answers.choices, question.id: raised.id}, answers.contribution_weekly_pence)
    before, after = allocate(answers, scheme), allocate(more, scheme)
    assert after.points >= before.points
    if after.points > before.points or question.id != getattr(
        scheme.carer_element, "question_id", None
    ):
        assert after.personal_budget_annual_pence >= before.personal_budget_annual_pence


def scheme_data(name: str) -> dict[str, Any]:
    path = Path(__file__).resolve().parents[2] / "formula" / "schemes" / name
    return tomllib.loads(path.read_text(encoding="utf-8"))


toml_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["", "0", "2.5", "NaN", "year", "week", "bands", "half_up", "health"]),
)
toml_values = st.recursive(
    toml_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=12), children, max_size=4),
    ),
    max_leaves=20,
)


def mutate(data: Any, path: list[Any], value: Any, delete: bool) -> None:
    target = data
    for step in path[:-1]:
        target = target[step]
    if delete and isinstance(target, dict):
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value


def paths(data: Any, prefix: list[Any]) -> list[list[Any]]:
    found = []
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        found.append([*prefix, key])
        if isinstance(value, dict | list) and value:
            found.extend(paths(value, [*prefix, key]))
    return found


BASES = [scheme_data("adult_2026.toml"), scheme_data("children_2026.toml")]


@settings(max_examples=300)
@given(st.data())
def test_validation_of_mutated_schemes_only_raises_rules_error(data: st.DataObject) -> None:
    scheme = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(paths(scheme, [])))
        mutate(scheme, path, data.draw(toml_values), data.draw(st.booleans()))
    try:
        parsed = parse_scheme(scheme, source="fuzz.toml")
    except RulesError as error:
        assert error.problems
        assert all(problem.source == "fuzz.toml" for problem in error.problems)
    else:
        assert parsed.floor_pence <= parsed.cap_pence


@given(st.dictionaries(st.text(max_size=12), toml_values, max_size=8))
def test_validation_of_arbitrary_tables_only_raises_rules_error(data: dict[str, Any]) -> None:
    with contextlib.suppress(RulesError):
        parse_scheme(data, source="any.toml")


@given(st.text(max_size=200))
def test_validation_of_arbitrary_text_only_raises_rules_error(text: str) -> None:
    try:
        parse_scheme_text(text, source="any.toml")
    except RulesError as error:
        assert str(error).startswith("any.toml: ")


@st.composite
def varied_schemes(draw: st.DrawFn) -> Scheme:
    """The shipped schemes with their figures redrawn: floors, caps, prices, weights, bands."""
    data = copy.deepcopy(draw(st.sampled_from(BASES)))
    allocation = data["allocation"]
    cap = draw(st.integers(0, 5_000_000))
    allocation["cap_pence"] = cap
    allocation["floor_pence"] = draw(st.integers(0, cap))
    allocation["contingency_percent"] = str(draw(st.decimals("0", "100", places=2)))
    data["period"]["amounts"] = draw(st.sampled_from(["year", "week"]))
    if "price_per_point_pence" in allocation:
        allocation["price_per_point_pence"] = draw(st.integers(0, 100_000))
        data["adjustments"]["groups"]["safety"]["weight_percent"] = draw(st.integers(1, 1000))
        data["adjustments"]["carer_element"]["amount_pence"] = draw(st.integers(0, 500_000))
    else:
        amounts = sorted(draw(st.lists(st.integers(0, 1_000_000), min_size=7, max_size=7)))
        for band, amount in zip(allocation["bands"], amounts, strict=True):
            band["amount_pence"] = amount
        allocation["rate_above_top_band_pence"] = draw(st.integers(0, 20_000))
    return parse_scheme(data, source="varied.toml")


@st.composite
def answers_for(draw: st.DrawFn, scheme: Scheme) -> Answers:
    choices = {
        q.id: draw(st.sampled_from(q.options)).id
        for q in scheme.questions
        if q.required or draw(st.booleans())
    }
    return Answers(choices, draw(st.integers(0, 100_000)) if scheme.means_tested else None)


@settings(max_examples=200)
@given(st.data())
def test_properties_hold_for_any_figures(data: st.DataObject) -> None:
    scheme = data.draw(varied_schemes())
    answers = data.draw(answers_for(scheme))
    allocation = allocate(answers, scheme)
    assert scheme.floor_pence <= allocation.personal_budget_annual_pence <= scheme.cap_pence
    assert 0 <= allocation.annual_pence <= allocation.personal_budget_annual_pence
    assert allocation.weekly_pence == half_up_weekly(allocation.annual_pence)
    check_sums(allocation)
    # Raising every answer to the top option (and having a carer) never lowers the budget.
    top_choices = {q.id: max(q.options, key=lambda o: o.points).id for q in scheme.questions}
    if scheme.carer_element is not None:
        top_choices[scheme.carer_element.question_id] = min(scheme.carer_element.option_ids)
    top = Answers(top_choices, answers.contribution_weekly_pence)
    highest = allocate(top, scheme)
    assert highest.points >= allocation.points
    assert highest.personal_budget_annual_pence >= allocation.personal_budget_annual_pence
