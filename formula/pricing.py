"""Pricing of choices: what a chosen support costs a year and a week, and a plan's total.

The conversion rule (the same everywhere in formula/ and in docs/rules-format.md):

* A year has exactly ``WEEKS_PER_YEAR`` = 52 weeks and 12 months.
* The **annual** cost is computed first, in whole pence:
  - one-off: the unit cost, counted once in the year it is bought;
  - per session: unit x sessions per week x 52, rounded half up to the penny
    (0.5 sessions a week = fortnightly);
  - per week: unit x 52;
  - per month: unit x 12;
  - per year: the unit cost.
* The **weekly** figure is always derived from the annual one: annual / 52, rounded half up
  to the penny (``ROUND_HALF_UP``). So a per-week cost of X has annual 52 x X and weekly X.
* A plan's weekly total is its annual total / 52 rounded half up, not the sum of the
  rounded weekly figures of its lines (those can differ by a few pence).

Money is integer pence; ``Decimal`` is used only while multiplying by a fractional number of
sessions and is rounded explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

WEEKS_PER_YEAR = 52
MONTHS_PER_YEAR = 12


class Frequency(StrEnum):
    ONE_OFF = "one_off"
    PER_SESSION = "per_session"
    PER_WEEK = "per_week"
    PER_MONTH = "per_month"
    PER_YEAR = "per_year"


def round_pence(amount: Decimal) -> int:
    """Round a Decimal amount of pence to whole pence, half up (0.5p -> 1p)."""
    return int(amount.to_integral_value(rounding=ROUND_HALF_UP))


def weekly_from_annual(annual: int) -> int:
    """The weekly figure of an annual amount: annual / 52, rounded half up to the penny.

    Computed exactly in integers; the same as Decimal ROUND_HALF_UP (half away from zero).
    """
    quotient = (2 * abs(annual) + WEEKS_PER_YEAR) // (2 * WEEKS_PER_YEAR)
    return quotient if annual >= 0 else -quotient


@dataclass(frozen=True)
class Cost:
    """A unit cost and how often it is paid. `sessions_per_week` is used only per session."""

    unit_pence: int
    frequency: Frequency
    sessions_per_week: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if isinstance(self.unit_pence, bool) or not isinstance(self.unit_pence, int):
            raise ValueError(f"unit_pence must be whole pence (int), got {self.unit_pence!r}")
        if self.unit_pence < 0:
            raise ValueError(f"unit_pence must be zero or more, got {self.unit_pence}")
        if not isinstance(self.frequency, Frequency):
            raise ValueError(f"frequency must be a Frequency, got {self.frequency!r}")
        if not isinstance(self.sessions_per_week, Decimal | int) or isinstance(
            self.sessions_per_week, bool
        ):
            raise ValueError(f"sessions_per_week must be a Decimal, got {self.sessions_per_week!r}")
        sessions = Decimal(self.sessions_per_week)
        if not sessions.is_finite() or sessions <= 0:
            raise ValueError(f"sessions_per_week must be more than 0, got {sessions}")
        object.__setattr__(self, "sessions_per_week", sessions)


def annual_pence(cost: Cost) -> int:
    """The cost over one year in whole pence (see the module docstring for the rule)."""
    match cost.frequency:
        case Frequency.ONE_OFF | Frequency.PER_YEAR:
            return cost.unit_pence
        case Frequency.PER_SESSION:
            return round_pence(cost.unit_pence * cost.sessions_per_week * WEEKS_PER_YEAR)
        case Frequency.PER_WEEK:
            return cost.unit_pence * WEEKS_PER_YEAR
        case Frequency.PER_MONTH:
            return cost.unit_pence * MONTHS_PER_YEAR


def weekly_pence(cost: Cost) -> int:
    """The weekly figure of a cost: its annual cost / 52, rounded half up to the penny."""
    return weekly_from_annual(annual_pence(cost))


@dataclass(frozen=True)
class PlanLine:
    """One chosen support in a plan, in the person's words, with its cost."""

    label: str
    cost: Cost

    @property
    def annual_pence(self) -> int:
        return annual_pence(self.cost)

    @property
    def weekly_pence(self) -> int:
        return weekly_pence(self.cost)


@dataclass(frozen=True)
class PlanTotal:
    """A plan's cost against its budget. Over budget is reported with the amount, never hidden."""

    annual_pence: int
    weekly_pence: int
    budget_annual_pence: int
    left_annual_pence: int  # budget - cost; negative when over budget
    over_budget_pence: int  # how far over budget a year; 0 when within budget

    @property
    def is_over_budget(self) -> bool:
        return self.over_budget_pence > 0

    @property
    def budget_weekly_pence(self) -> int:
        return weekly_from_annual(self.budget_annual_pence)

    @property
    def left_weekly_pence(self) -> int:
        """What is left a week: the annual amount left / 52, rounded half up (may be negative)."""
        return weekly_from_annual(self.left_annual_pence)


def plan_total(lines: Iterable[PlanLine], *, budget_annual_pence: int) -> PlanTotal:
    """Total a plan's lines against an annual budget. Never clamps: over budget is reported."""
    if isinstance(budget_annual_pence, bool) or not isinstance(budget_annual_pence, int):
        raise ValueError(f"budget_annual_pence must be whole pence, got {budget_annual_pence!r}")
    if budget_annual_pence < 0:
        raise ValueError(f"budget_annual_pence must be zero or more, got {budget_annual_pence}")
    annual = sum(annual_pence(line.cost) for line in lines)
    left = budget_annual_pence - annual
    return PlanTotal(
        annual_pence=annual,
        weekly_pence=weekly_from_annual(annual),
        budget_annual_pence=budget_annual_pence,
        left_annual_pence=left,
        over_budget_pence=max(0, -left),
    )
