"""What-if: compare the budgets for two sets of answers and say which explanation lines changed."""

from __future__ import annotations

from dataclasses import dataclass

from formula.allocation import Allocation, Answers, ExplanationLine, LineKind, allocate
from formula.pricing import weekly_from_annual
from formula.rules import Scheme


@dataclass(frozen=True, slots=True)
class LineChange:
    """An explanation line that differs: present in one only, or with different numbers."""

    kind: LineKind
    key: str
    before: ExplanationLine | None  # None: the line is new
    after: ExplanationLine | None  # None: the line is gone


@dataclass(frozen=True, slots=True)
class Comparison:
    before: Allocation
    after: Allocation
    changes: tuple[LineChange, ...]

    @property
    def points_difference(self) -> int:
        return self.after.points - self.before.points

    @property
    def annual_difference_pence(self) -> int:
        """How much more (positive) or less (negative) the council pays a year."""
        return self.after.annual_pence - self.before.annual_pence

    @property
    def weekly_difference_pence(self) -> int:
        """The annual difference / 52, rounded half up (away from zero when negative)."""
        return weekly_from_annual(self.annual_difference_pence)

    @property
    def personal_budget_difference_pence(self) -> int:
        return self.after.personal_budget_annual_pence - self.before.personal_budget_annual_pence


def compare(before: Allocation, after: Allocation) -> Comparison:
    """Compare two allocations; lines are matched by (kind, key), in the order they appear."""
    before_lines = {(line.kind, line.key): line for line in before.lines}
    after_lines = {(line.kind, line.key): line for line in after.lines}
    changes: list[LineChange] = []
    for identity, line in before_lines.items():
        other = after_lines.get(identity)
        if other is None or other.values != line.values or other.text != line.text:
            changes.append(LineChange(line.kind, line.key, line, other))
    for identity, line in after_lines.items():
        if identity not in before_lines:
            changes.append(LineChange(line.kind, line.key, None, line))
    return Comparison(before=before, after=after, changes=tuple(changes))


def what_if(before: Answers, after: Answers, rules: Scheme) -> Comparison:
    """Allocate both sets of answers under the same rules and compare them."""
    return compare(allocate(before, rules), allocate(after, rules))
