"""Validation: a malformed rules file or answers set gives an error naming file, key, problem."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from formula import (
    Answers,
    AnswersError,
    RulesError,
    SchemeNotFoundError,
    allocate,
    check_answers,
    load_answers,
    load_scheme,
    load_shipped_scheme,
    parse_scheme,
)

SCHEMES = Path(__file__).resolve().parents[2] / "formula" / "schemes"
SOURCE = "council.toml"


def children_data() -> dict[str, Any]:
    return tomllib.loads((SCHEMES / "children_2026.toml").read_text(encoding="utf-8"))


def adult_data() -> dict[str, Any]:
    return tomllib.loads((SCHEMES / "adult_2026.toml").read_text(encoding="utf-8"))


def problems_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(RulesError) as caught:
        parse_scheme(data, source=SOURCE)
    error = caught.value
    for problem in error.problems:
        assert problem.source == SOURCE
        assert f"{SOURCE}: {problem.key}: {problem.message}" in str(error)
    return [(problem.key, problem.message) for problem in error.problems]


def assert_problem(data: dict[str, Any], key: str, words: str) -> None:
    problems = problems_of(data)
    assert any(k == key and words in message for k, message in problems), problems


def test_the_unmodified_fixtures_are_valid() -> None:
    parse_scheme(children_data(), source=SOURCE)
    parse_scheme(adult_data(), source=SOURCE)


def test_missing_fields() -> None:
    data = adult_data()
    del data["scheme"]["name"]
    del data["allocation"]["floor_pence"]
    del data["questions"][0]["required"]
    del data["questions"][1]["options"][0]["points"]
    del data["contribution"]
    problems = problems_of(data)
    assert ("scheme.name", "missing") in problems
    assert ("allocation.floor_pence", "missing") in problems
    assert ("questions[washing].required", "missing") in problems
    assert ("questions[toilet].options[none].points", "missing") in problems
    assert ("contribution", "missing table") in problems


def test_missing_price_for_price_per_point() -> None:
    data = adult_data()
    del data["allocation"]["price_per_point_pence"]
    assert_problem(data, "allocation.price_per_point_pence", "missing")


def test_duplicate_ids() -> None:
    data = adult_data()
    data["questions"][1]["id"] = "washing"
    data["questions"][2]["options"][1]["id"] = "none"
    problems = problems_of(data)
    assert ("questions[washing].id", "duplicate question id 'washing'") in problems
    assert ("questions[meals].options[none].id", "duplicate option id 'none'") in problems


def test_duplicate_band_ids() -> None:
    data = children_data()
    data["allocation"]["bands"][1]["id"] = "none"
    assert_problem(data, "allocation.bands[none].id", "duplicate band id 'none'")


def test_overlapping_bands() -> None:
    data = children_data()
    data["allocation"]["bands"][2]["from_points"] = 110  # "some" now 110-130, "small" 70-115
    assert_problem(data, "allocation.bands[some].from_points", "overlaps band 'small' (70-115)")


def test_gapped_bands() -> None:
    data = children_data()
    data["allocation"]["bands"][2]["from_points"] = 120  # 116-119 in no band
    assert_problem(data, "allocation.bands[some].from_points", "points 116-119 are in no band")


def test_bands_must_start_at_zero() -> None:
    data = children_data()
    data["allocation"]["bands"][0]["from_points"] = 1
    assert_problem(data, "allocation.bands[none].from_points", "must start at 0")


def test_band_with_to_below_from() -> None:
    data = children_data()
    data["allocation"]["bands"][1]["to_points"] = 60
    assert_problem(data, "allocation.bands[small].to_points", "below from_points")


def test_band_amounts_must_not_fall() -> None:
    data = children_data()
    data["allocation"]["bands"][3]["amount_pence"] = 100
    assert_problem(data, "allocation.bands[more].amount_pence", "must not fall")


def test_bands_must_reach_the_most_points() -> None:
    data = children_data()
    data["allocation"]["method"] = "bands"
    del data["allocation"]["rate_above_top_band_pence"]
    assert_problem(data, "allocation.bands[exceptional].to_points", "bands stop at 185 points but")


def test_bands_then_rate_needs_a_closed_top_band() -> None:
    data = children_data()
    del data["allocation"]["bands"][-1]["to_points"]
    assert_problem(data, "allocation.bands[exceptional].to_points", "needs to_points")


def test_only_the_top_band_may_be_open() -> None:
    data = children_data()
    del data["allocation"]["bands"][1]["to_points"]
    assert_problem(data, "allocation.bands[small].to_points", "only the top band")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("allocation", "price_per_point_pence"), -1),
        (("allocation", "floor_pence"), -100),
        (("allocation", "cap_pence"), -5),
        (("adjustments", "carer_element", "amount_pence"), -1),
    ],
)
def test_negative_prices(path: tuple[str, ...], value: int) -> None:
    data = adult_data()
    table = data
    for part in path[:-1]:
        table = table[part]
    table[path[-1]] = value
    assert_problem(data, ".".join(path), f"must not be negative, got {value}")


def test_negative_points_and_band_amounts() -> None:
    data = children_data()
    data["allocation"]["bands"][0]["amount_pence"] = -1
    data["questions"][0]["options"][0]["points"] = -3
    problems = problems_of(data)
    assert ("allocation.bands[none].amount_pence", "must not be negative, got -1") in problems
    assert ("questions[washing].options[same].points", "must not be negative, got -3") in problems


def test_floor_above_cap() -> None:
    data = adult_data()
    data["allocation"]["floor_pence"] = 2_000_000
    assert_problem(data, "allocation.floor_pence", "the floor (2000000) is above the cap (1800000)")


def test_unknown_wellbeing_area_and_outcome() -> None:
    data = adult_data()
    data["questions"][0]["wellbeing_area"] = "happiness"
    data["questions"][1]["eligibility_outcome"] = "flying"
    problems = problems_of(data)
    assert any(
        key == "questions[washing].wellbeing_area" and "unknown value 'happiness'" in message
        for key, message in problems
    )
    assert any(key == "questions[toilet].eligibility_outcome" for key, _ in problems)


def test_money_must_be_whole_pence_not_a_decimal() -> None:
    data = adult_data()
    data["allocation"]["price_per_point_pence"] = 150.5
    assert_problem(data, "allocation.price_per_point_pence", "money is whole pence")


def test_unknown_keys_are_typos_not_ignored() -> None:
    data = adult_data()
    data["allocation"]["contingency_percnt"] = "2"
    data["questions"][0]["txt_cy"] = "x"
    problems = problems_of(data)
    assert any(key == "allocation.contingency_percnt" for key, _ in problems)
    assert any(key == "questions[washing].txt_cy" for key, _ in problems)


def test_keys_of_another_method_are_refused() -> None:
    data = adult_data()
    data["allocation"]["rate_above_top_band_pence"] = 100
    assert_problem(data, "allocation.rate_above_top_band_pence", "not used with method")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("weeks_per_year", 52.14, "whole number"),
        ("weeks_per_year", 53, "must be 52"),
        ("rounding", "bankers", "half_up"),
        ("amounts", "fortnight", "unknown value"),
    ],
)
def test_period_rules(key: str, value: object, words: str) -> None:
    data = adult_data()
    data["period"][key] = value
    assert_problem(data, f"period.{key}", words)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("abc", "quoted decimal"),
        (2.5, "quoted decimal"),
        ("101", "between 0 and 100"),
        ("-1", "between"),
        ("0.00001", "decimal places"),
        ("NaN", "quoted decimal"),
    ],
)
def test_contingency_percent(value: object, words: str) -> None:
    data = adult_data()
    data["allocation"]["contingency_percent"] = value
    assert_problem(data, "allocation.contingency_percent", words)


def test_currency_and_ids() -> None:
    data = adult_data()
    data["scheme"]["currency"] = "EUR"
    data["scheme"]["id"] = "Adult 2026"
    data["questions"][0]["id"] = "contribution"
    problems = problems_of(data)
    assert ("scheme.currency", "only GBP is supported") in problems
    assert any(key == "scheme.id" and "not a valid id" in msg for key, msg in problems)
    assert any("reserved" in msg for _, msg in problems)


def test_groups_and_carer_element_must_match_the_questions() -> None:
    data = adult_data()
    data["questions"][0]["group"] = "daily_living"
    data["adjustments"]["carer_element"]["options"] = ["sometimes", "always"]
    data["adjustments"]["groups"]["unused"] = {"name": "Unused", "weight_percent": 100}
    problems = problems_of(data)
    assert any(key == "questions[washing].group" and "not declared" in msg for key, msg in problems)
    assert (
        "adjustments.carer_element.options",
        "question 'unpaid_carer' has no option 'always'",
    ) in problems
    assert ("adjustments.groups.unused", "no question is in this group") in problems


def test_questions_need_two_options_and_text() -> None:
    data = adult_data()
    data["questions"][0]["options"] = data["questions"][0]["options"][:1]
    data["questions"][1]["text"] = "  "
    data["questions"] = data["questions"]
    problems = problems_of(data)
    assert ("questions[washing].options", "a question needs at least two options") in problems
    assert ("questions[toilet].text", "must not be empty") in problems


def test_every_problem_is_reported_at_once() -> None:
    data = children_data()
    del data["scheme"]["version"]
    data["allocation"]["floor_pence"] = -1
    data["questions"][3]["wellbeing_area"] = "nowhere"
    assert len(problems_of(data)) == 3


def test_files_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[scheme\nid = 1\n", encoding="utf-8")
    with pytest.raises(RulesError, match=r"broken\.toml: \(file\): not valid TOML"):
        load_scheme(bad)
    with pytest.raises(RulesError, match=r"absent\.toml: \(file\): file not found"):
        load_scheme(tmp_path / "absent.toml")
    copy_of = tmp_path / "adult.toml"
    copy_of.write_text(
        (SCHEMES / "adult_2026.toml")
        .read_text(encoding="utf-8")
        .replace('wellbeing_area = "control"', 'wellbeing_area = "ctrl"'),
        encoding="utf-8",
    )
    with pytest.raises(RulesError) as caught:
        load_scheme(copy_of)
    assert str(caught.value).startswith(f"{copy_of}: questions[choices].wellbeing_area: unknown")


def test_unknown_shipped_scheme() -> None:
    with pytest.raises(SchemeNotFoundError, match=r"'nope'.*adult-2026, children-2026"):
        load_shipped_scheme("nope")


# Answers


def full_adult() -> dict[str, str]:
    scheme = load_shipped_scheme("adult-2026")
    return {q.id: q.options[0].id for q in scheme.questions if q.required}


def test_answers_naming_unknown_questions_and_options() -> None:
    choices = full_adult() | {"wishing": "none", "washing": "sometimes"}
    with pytest.raises(AnswersError) as caught:
        allocate(Answers(choices, 0), load_shipped_scheme("adult-2026"))
    message = str(caught.value)
    assert "unknown question 'wishing'" in message
    assert "question 'washing' has no option 'sometimes'" in message


def test_answers_leaving_required_questions_out() -> None:
    choices = full_adult()
    del choices["toilet"]
    del choices["meals"]
    with pytest.raises(AnswersError, match="required questions not answered: toilet, meals"):
        allocate(Answers(choices, 0), load_shipped_scheme("adult-2026"))


def test_optional_questions_may_be_left_out() -> None:
    allocation = allocate(Answers(full_adult(), 0), load_shipped_scheme("adult-2026"))
    assert allocation.points == 0


@pytest.mark.parametrize(
    ("scheme_id", "contribution", "words"),
    [
        ("adult-2026", None, "weekly contribution from the financial assessment is missing"),
        ("adult-2026", -1, "must not be negative"),
        ("adult-2026", 1.5, "whole pence"),
        ("children-2026", 0, "not means-tested"),
    ],
)
def test_contribution_rules(scheme_id: str, contribution: Any, words: str) -> None:
    scheme = load_shipped_scheme(scheme_id)
    choices = {q.id: q.options[0].id for q in scheme.questions}
    with pytest.raises(AnswersError, match=words):
        allocate(Answers(choices, contribution), scheme)
    with pytest.raises(AnswersError, match=words):
        check_answers(Answers(choices, contribution), scheme)


def test_answers_file_errors_name_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "answers.toml"
    path.write_text("washing = 3\n[contribution]\nweekly_pence = -5\nextra = 1\n", "utf-8")
    with pytest.raises(AnswersError) as caught:
        load_answers(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "washing: must be an option id in quotes" in message
    assert "contribution.weekly_pence: must not be negative" in message
    assert "contribution.extra: unknown key" in message
    path.write_text("washing = \n", "utf-8")
    with pytest.raises(AnswersError, match="not valid TOML"):
        load_answers(path)
    with pytest.raises(AnswersError, match="file not found"):
        load_answers(tmp_path / "none.toml")


def test_answers_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "answers.toml"
    path.write_text('washing = "most_days"\n[contribution]\nweekly_pence = 1500\n', "utf-8")
    answers = load_answers(path)
    assert answers == Answers({"washing": "most_days"}, 1500)


def test_validation_does_not_change_the_input() -> None:
    data = adult_data()
    before = copy.deepcopy(data)
    parse_scheme(data, source=SOURCE)
    assert data == before
