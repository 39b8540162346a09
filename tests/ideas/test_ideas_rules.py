"""Spending rules: allowed / needs approval / not allowed, with tricky phrasings."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.ideas import (
    CatalogueError,
    SpendingRules,
    Verdict,
    check_idea,
    check_item,
    load_catalogue,
    load_spending_rules,
)
from formula.pricing import Cost, Frequency

A = Verdict.ALLOWED
P = Verdict.NEEDS_APPROVAL
N = Verdict.NOT_ALLOWED


@pytest.fixture(scope="module")
def rules() -> SpendingRules:
    return load_spending_rules()


@pytest.mark.parametrize(
    ("idea", "verdict", "rule_id"),
    [
        ("a dance class", A, None),
        ("wine tasting", N, "alcohol"),
        ("a drinking water bottle", A, None),
        ("alcohol free beer at the football", A, None),
        ("beers with my mates", N, "alcohol"),
        ("alchohol", N, "alcohol"),  # a typo of a trigger is still caught
        ("gin rummy club", A, None),
        ("swine flu jab", A, None),
        ("food shopping", N, "everyday_living"),
        ("my weekly groceries", N, "everyday_living"),
        ("a cooking class", A, None),
        ("a healthy food cooking class", A, None),
        ("help with food shopping", A, None),
        ("pay my rent", N, "everyday_living"),
        ("my gas bill", N, "everyday_living"),
        ("pay off my credit card", N, "debt"),
        ("debt advice sessions", A, None),
        ("cigarettes", N, "tobacco"),
        ("a stop smoking course", A, None),
        ("betting on the horses", N, "gambling"),
        ("a better sleep course", A, None),
        ("scratch cards", N, "gambling"),
        ("cannabis", N, "illegal"),
        ("christmas presents for the grandkids", N, "gifts_cash"),
        ("move into a care home permanently", N, "long_term_residential"),
        ("respite in a care home", A, None),
        ("my prescriptions", N, "nhs_free"),
        ("the council run day centre", N, "council_run_service"),
        ("pay my husband to look after me", N, "household_family_employee"),
        ("employ my daughter as my PA", N, "household_family_employee"),
        ("a holiday in Tenby", P, "holiday"),
        ("a weekend away with support", P, "holiday"),
        ("reflexology", P, "complementary_therapy"),
        ("a carer to help me shower", A, None),
    ],
)
def test_ideas_in_free_text(
    rules: SpendingRules, idea: str, verdict: Verdict, rule_id: str | None
) -> None:
    result = check_idea(idea, cost=None, rules=rules)
    assert (result.verdict, result.rule_id) == (verdict, rule_id)
    assert result.reason


def test_strictest_rule_wins(rules: SpendingRules) -> None:
    result = check_idea("a holiday to a casino", cost=None, rules=rules)
    assert (result.verdict, result.rule_id) == (N, "gambling")


def test_reason_is_plain_and_quotes_the_words(rules: SpendingRules) -> None:
    result = check_idea("Wine tasting evening", cost=None, rules=rules)
    assert result.quote == "Wine tasting"
    assert "alcohol" in result.reason


@pytest.mark.parametrize(("monthly_pence", "verdict"), [(2000, A), (2499, A), (2500, P), (6000, P)])
def test_gym_needs_approval_only_from_the_yearly_limit(
    rules: SpendingRules, monthly_pence: int, verdict: Verdict
) -> None:
    cost = Cost(monthly_pence, Frequency.PER_MONTH)
    assert check_idea("gym membership", cost=cost, rules=rules).verdict is verdict


def test_unknown_cost_with_a_threshold_asks_for_approval_and_says_why(rules: SpendingRules) -> None:
    result = check_idea("gym", cost=None, rules=rules)
    assert result.verdict is P
    assert "£300.00 a year" in result.reason


def test_equipment_over_the_limit(rules: SpendingRules) -> None:
    cheap = Cost(18000, Frequency.ONE_OFF)
    dear = Cost(90000, Frequency.ONE_OFF)
    assert check_idea("a laptop", cost=cheap, rules=rules).verdict is A
    assert check_idea("a laptop", cost=dear, rules=rules).rule_id == "equipment_over_limit"
    assert check_idea("computer lessons", cost=dear, rules=rules).verdict is A


def test_shipped_items_are_never_refused_and_expensive_equipment_needs_approval(
    rules: SpendingRules,
) -> None:
    catalogue = load_catalogue()
    verdicts = {item.id: check_item(item, rules) for item in catalogue}
    refused = [i for i, v in verdicts.items() if v.verdict is N]
    assert refused == []
    assert verdicts["stairlift"].rule_id == "equipment_over_limit"
    assert verdicts["holiday_support"].rule_id == "holiday"
    assert verdicts["gardening_club"].verdict is A
    assert verdicts["grab_rails"].verdict is A


def test_rules_file_errors_name_file_rule_and_key(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nid = "x"\nverdict = "maybe"\nreason = "r"\ntriggers = ["a"]\n')
    with pytest.raises(CatalogueError, match=r"rules.toml: rule 1 \(x\): key 'verdict'"):
        load_spending_rules(path)
    path.write_text('[[rule]]\nid = "x"\nverdict = "not_allowed"\nreason = "r"\n')
    with pytest.raises(CatalogueError, match="needs triggers, kinds or a threshold"):
        load_spending_rules(path)
    path.write_text('[[rule]]\nid = "x"\nverdict = "not_allowed"\nreason = "r"\nwords = ["a"]\n')
    with pytest.raises(CatalogueError, match="key 'words': unknown key"):
        load_spending_rules(path)


def test_every_shipped_rule_has_a_welsh_reason(rules: SpendingRules) -> None:
    for rule in rules.rules:
        assert rule.reason_cy and rule.reason_cy != rule.reason, rule.id


def test_a_verdict_carries_the_welsh_reason_beside_the_english(rules: SpendingRules) -> None:
    refused = check_idea("a wine tasting evening", cost=None, rules=rules)
    assert refused.reason.startswith("A personal budget")
    assert refused.reason_cy == "Ni all cyllideb bersonol dalu am alcohol."
    allowed = check_idea("a pottery class", cost=None, rules=rules)
    assert allowed.verdict is A and allowed.reason_cy
    catalogue = load_catalogue()
    for item in catalogue:
        verdict = check_item(item, rules)
        assert verdict.reason_cy, item.id


def test_a_welsh_reason_with_a_threshold_says_the_amounts_in_welsh(rules: SpendingRules) -> None:
    gym = Cost(60_000, Frequency.PER_YEAR)
    verdict = check_idea("gym membership", cost=gym, rules=rules)
    assert verdict.verdict is P
    assert verdict.reason_cy is not None and "y flwyddyn" in verdict.reason_cy


def test_the_welsh_reason_is_optional(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nid = "x"\nverdict = "not_allowed"\nreason = "r"\ntriggers = ["wine"]\n'
    )
    rules = load_spending_rules(path)
    assert rules.rules[0].reason_cy is None
    verdict = check_idea("wine", cost=None, rules=rules)
    assert verdict.verdict is N and verdict.reason_cy is None
    path.write_text(
        '[[rule]]\nid = "x"\nverdict = "not_allowed"\nreason = "r"\nreason_cy = ""\n'
        'triggers = ["a"]\n'
    )
    with pytest.raises(CatalogueError, match="reason_cy"):
        load_spending_rules(path)
