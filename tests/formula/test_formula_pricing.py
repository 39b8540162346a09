"""Pricing of choices: annual and weekly costs, and a plan's total against its budget.

Expected figures are worked by hand in the comments: annual first, weekly = annual / 52,
rounded half up to the penny.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formula.pricing import (
    WEEKS_PER_YEAR,
    Cost,
    Frequency,
    PlanLine,
    annual_pence,
    plan_total,
    weekly_from_annual,
    weekly_pence,
)


@pytest.mark.parametrize(
    ("cost", "annual", "weekly"),
    [
        # £25 one-off: counted once in the year; 2500 / 52 = 48.08 -> 48
        (Cost(2500, Frequency.ONE_OFF), 2500, 48),
        # £30 a session, twice a week: 30 x 2 x 52 = £3,120; weekly £60
        (Cost(3000, Frequency.PER_SESSION, Decimal(2)), 312000, 6000),
        # £25 a session, fortnightly (0.5 a week): 25 x 0.5 x 52 = £650; 650 / 52 = £12.50
        (Cost(2500, Frequency.PER_SESSION, Decimal("0.5")), 65000, 1250),
        # 1p a session, 0.5 a week: 0.5 x 52 = 26p exactly; 26 / 52 = 0.5p -> 1p (half up)
        (Cost(1, Frequency.PER_SESSION, Decimal("0.5")), 26, 1),
        # 1p a session, 0.01 a week: 0.52p -> 1p a year; 1 / 52 -> 0p a week
        (Cost(1, Frequency.PER_SESSION, Decimal("0.01")), 1, 0),
        # 3p a session, 1/3 of a session is not exact: 0.3333 x 3 x 52 = 51.99948 -> 52p; 1p
        (Cost(3, Frequency.PER_SESSION, Decimal("0.3333")), 52, 1),
        # £40 a week: 40 x 52 = £2,080 and weekly exactly £40
        (Cost(4000, Frequency.PER_WEEK), 208000, 4000),
        # £100 a month: 12 x 100 = £1,200; 1200 / 52 = 23.0769 -> £23.08
        (Cost(10000, Frequency.PER_MONTH), 120000, 2308),
        # £520 a year: weekly £10
        (Cost(52000, Frequency.PER_YEAR), 52000, 1000),
        # £1 a year: 100 / 52 = 1.92 -> 2p
        (Cost(100, Frequency.PER_YEAR), 100, 2),
        (Cost(0, Frequency.PER_WEEK), 0, 0),
    ],
)
def test_annual_and_weekly_pence(cost: Cost, annual: int, weekly: int) -> None:
    assert annual_pence(cost) == annual
    assert weekly_pence(cost) == weekly


@given(st.integers(min_value=0, max_value=10**9))
def test_a_weekly_cost_is_52_times_a_year_and_itself_a_week(unit: int) -> None:
    cost = Cost(unit, Frequency.PER_WEEK)
    assert annual_pence(cost) == WEEKS_PER_YEAR * unit
    assert weekly_pence(cost) == unit


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_weekly_from_annual_is_decimal_round_half_up(annual: int) -> None:
    expected = (Decimal(annual) / 52).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert weekly_from_annual(annual) == int(expected)
    # The rule stated independently: the weekly figure x 52 is within half a week of the year.
    assert -26 < 52 * weekly_from_annual(abs(annual)) - abs(annual) <= 26


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"unit_pence": -1, "frequency": Frequency.PER_WEEK}, "zero or more"),
        (
            {
                "unit_pence": 100,
                "frequency": Frequency.PER_SESSION,
                "sessions_per_week": Decimal(0),
            },
            "more than 0",
        ),
        (
            {
                "unit_pence": 100,
                "frequency": Frequency.PER_SESSION,
                "sessions_per_week": Decimal("-0.5"),
            },
            "more than 0",
        ),
        (
            {
                "unit_pence": 100,
                "frequency": Frequency.PER_SESSION,
                "sessions_per_week": Decimal("NaN"),
            },
            "more than 0",
        ),
        ({"unit_pence": 1.5, "frequency": Frequency.PER_WEEK}, "whole pence"),
        ({"unit_pence": True, "frequency": Frequency.PER_WEEK}, "whole pence"),
        ({"unit_pence": 100, "frequency": "weekly"}, "Frequency"),
    ],
)
def test_cost_refuses_bad_values(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Cost(**kwargs)  # type: ignore[arg-type]


def test_plan_within_budget_reports_what_is_left() -> None:
    lines = [
        PlanLine("Gardening club", Cost(1500, Frequency.PER_SESSION, Decimal(1))),  # £780
        PlanLine("Art course", Cost(12000, Frequency.ONE_OFF)),  # £120
        PlanLine("Bus pass", Cost(2500, Frequency.PER_MONTH)),  # £300
    ]
    total = plan_total(lines, budget_annual_pence=150000)
    assert total.annual_pence == 78000 + 12000 + 30000  # £1,200
    assert total.weekly_pence == 2308  # 120000 / 52 = 2307.69 -> 2308
    assert total.left_annual_pence == 30000
    assert total.over_budget_pence == 0
    assert not total.is_over_budget
    assert total.budget_weekly_pence == 2885  # 150000 / 52 = 2884.6 -> 2885
    assert total.left_weekly_pence == 577  # 30000 / 52 = 576.9 -> 577


def test_plan_over_budget_is_reported_with_the_amount_never_clamped() -> None:
    lines = [PlanLine("Home nurse", Cost(50000, Frequency.PER_WEEK))]  # £26,000 a year
    total = plan_total(lines, budget_annual_pence=2000000)  # £20,000
    assert total.annual_pence == 2600000
    assert total.left_annual_pence == -600000
    assert total.over_budget_pence == 600000
    assert total.is_over_budget
    assert total.left_weekly_pence == -11538  # -600000 / 52 = -11538.46 -> -11538


def test_empty_plan_and_bad_budget() -> None:
    total = plan_total([], budget_annual_pence=0)
    assert (total.annual_pence, total.weekly_pence, total.left_annual_pence) == (0, 0, 0)
    with pytest.raises(ValueError, match="zero or more"):
        plan_total([], budget_annual_pence=-1)


costs = st.builds(
    Cost,
    unit_pence=st.integers(min_value=0, max_value=10**7),
    frequency=st.sampled_from(Frequency),
    sessions_per_week=st.decimals(min_value="0.01", max_value="14", places=2),
)


@given(st.lists(costs, max_size=20), st.integers(min_value=0, max_value=10**9))
def test_plan_total_adds_up_and_never_hides_an_overspend(plan: list[Cost], budget: int) -> None:
    total = plan_total(
        [PlanLine(f"line {i}", cost) for i, cost in enumerate(plan)], budget_annual_pence=budget
    )
    assert total.annual_pence == sum(annual_pence(cost) for cost in plan)
    assert total.left_annual_pence == budget - total.annual_pence
    assert total.over_budget_pence == max(0, total.annual_pence - budget)
    assert total.is_over_budget == (total.annual_pence > budget)
    assert -26 < 52 * total.weekly_pence - total.annual_pence <= 26
