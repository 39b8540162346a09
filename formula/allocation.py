"""The indicative budget: turn a person's answers into points, points into money, and explain it.

The calculation, in this order (each step is one or more explanation lines):

1. Points: each answer's points, in questionnaire order; a group weight (e.g. 125%) turns a
   group's raw points into weighted points, rounded half up to a whole point.
2. Money from points (annual pence): points x price per point; or the band the points fall in;
   or the top band's amount plus a rate per point above the top band.
3. Contingency: a percentage of step 2, rounded half up to the penny.
4. Carer element: a fixed amount, when the named answer says someone helps without pay.
5. Floor and cap: the total of steps 2-4 is raised to the floor or limited to the cap.
   The result is the personal budget.
6. Contribution (means-tested schemes only): the person's assessed weekly contribution x 52,
   never more than the personal budget. What the council pays is the budget minus it.

Every weekly figure is its annual figure / 52, rounded half up to the penny (see pricing).
The explanation lines' `points` add up to `Allocation.points`, and their `amount_pence` add up
to `Allocation.annual_pence` (what the council pays); the lines up to and including the
`personal_budget` line add up to the personal budget.
"""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from formula.errors import AnswersError
from formula.money import format_pounds
from formula.pricing import WEEKS_PER_YEAR, weekly_from_annual
from formula.rules import AllocationMethod, Band, Scheme


class LineKind(StrEnum):
    ANSWER = "answer"  # key: question id; points: the option's points
    NOT_ANSWERED = "not_answered"  # key: question id of an optional question left out
    GROUP_WEIGHT = "group_weight"  # key: group id; points: weighted minus raw points
    POINTS_TOTAL = "points_total"  # subtotal: adds nothing
    PRICE_PER_POINT = "price_per_point"
    BAND = "band"  # key: band id
    ABOVE_TOP_BAND = "above_top_band"  # key: top band id
    CONTINGENCY = "contingency"
    CARER_ELEMENT = "carer_element"  # key: question id
    FLOOR = "floor"
    CAP = "cap"
    PERSONAL_BUDGET = "personal_budget"  # subtotal: adds nothing
    CONTRIBUTION = "contribution"  # amount is negative
    RESULT = "result"  # subtotal: adds nothing


class ExplanationLine(NamedTuple):
    """One step of "why is my budget this amount?".

    `points` and `amount_pence` are what this line adds (0 for subtotals). `values` holds every
    number (and English name) a template needs to say the line in another language; `text` is
    the English, rendered from `kind` and `values` when asked for.
    """

    kind: LineKind
    key: str
    points: int
    amount_pence: int
    values: Mapping[str, int | str]

    @property
    def text(self) -> str:
        return english_text(self.kind, self.values)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "points": self.points,
            "amount_pence": self.amount_pence,
            "values": dict(self.values),
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Answers:
    """A person's answers: question id -> option id, and the financial assessment's result.

    `contribution_weekly_pence` is required by means-tested schemes (0 if nothing to pay) and
    refused by the others.
    """

    choices: Mapping[str, str]
    contribution_weekly_pence: int | None = None


@dataclass(frozen=True, slots=True)
class Allocation:
    """The indicative budget for one set of answers, in annual pence, with its explanation."""

    scheme_id: str
    scheme_version: str
    points: int
    band: Band | None
    personal_budget_annual_pence: int  # before the contribution; within the floor and cap
    contribution_annual_pence: int  # what the person pays themself
    annual_pence: int  # what the council pays: personal budget minus contribution
    lines: tuple[ExplanationLine, ...] = field(repr=False)

    @property
    def weekly_pence(self) -> int:
        return weekly_from_annual(self.annual_pence)

    @property
    def personal_budget_weekly_pence(self) -> int:
        return weekly_from_annual(self.personal_budget_annual_pence)

    @property
    def contribution_weekly_pence(self) -> int:
        return weekly_from_annual(self.contribution_annual_pence)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scheme_id": self.scheme_id,
            "scheme_version": self.scheme_version,
            "points": self.points,
            "band": None if self.band is None else self.band.id,
            "personal_budget_annual_pence": self.personal_budget_annual_pence,
            "personal_budget_weekly_pence": self.personal_budget_weekly_pence,
            "contribution_annual_pence": self.contribution_annual_pence,
            "contribution_weekly_pence": self.contribution_weekly_pence,
            "annual_pence": self.annual_pence,
            "weekly_pence": self.weekly_pence,
            "lines": [line.as_dict() for line in self.lines],
        }


def _plural(points: int | str) -> str:
    return "1 point" if points == 1 else f"{points} points"


def _pounds(value: int | str) -> str:
    return format_pounds(int(value))


def english_text(kind: LineKind, v: Mapping[str, int | str]) -> str:
    """The English sentence for an explanation line (the chat renders other languages)."""
    match kind:
        case LineKind.ANSWER:
            return f"{v['topic']}: {_plural(v['points'])}"
        case LineKind.NOT_ANSWERED:
            return f"{v['topic']}: not answered, 0 points"
        case LineKind.GROUP_WEIGHT:
            delta = int(v["weighted_points"]) - int(v["raw_points"])
            return (
                f"{v['name']} answers count {v['weight_percent']}%: "
                f"{_plural(v['raw_points'])} become {_plural(v['weighted_points'])} ({delta:+d})"
            )
        case LineKind.POINTS_TOTAL:
            return f"Total: {_plural(v['points'])}"
        case LineKind.PRICE_PER_POINT:
            amount = int(v["points"]) * int(v["price_per_point_pence"])
            return (
                f"{_plural(v['points'])} x {_pounds(v['price_per_point_pence'])} a point: "
                f"{format_pounds(amount)} a year"
            )
        case LineKind.BAND:
            to_points = int(v["to_points"])
            band_range = (
                f"{v['from_points']} and above"
                if to_points < 0
                else f"{v['from_points']}-{to_points}"
            )
            return (
                f"{_plural(v['points'])} is in the band {band_range} ({v['name']}): "
                f"{_pounds(v['band_pence'])} a year"
            )
        case LineKind.ABOVE_TOP_BAND:
            extra = int(v["points_above"]) * int(v["rate_pence"])
            return (
                f"{_plural(v['points_above'])} above {v['top_points']} x "
                f"{_pounds(v['rate_pence'])} a point: plus {format_pounds(extra)}"
            )
        case LineKind.CONTINGENCY:
            return (
                f"Contingency of {v['percent']}% of {_pounds(v['base_pence'])}: "
                f"plus {_pounds(v['amount_pence'])}"
            )
        case LineKind.CARER_ELEMENT:
            return f"{v['name']}: plus {_pounds(v['amount_pence'])} a year"
        case LineKind.FLOOR:
            raised = int(v["floor_pence"]) - int(v["before_pence"])
            return (
                f"Raised to the minimum budget of {_pounds(v['floor_pence'])} a year: "
                f"plus {format_pounds(raised)}"
            )
        case LineKind.CAP:
            cut = int(v["before_pence"]) - int(v["cap_pence"])
            return (
                f"Limited to the maximum budget of {_pounds(v['cap_pence'])} a year: "
                f"minus {format_pounds(cut)}"
            )
        case LineKind.PERSONAL_BUDGET:
            return (
                f"Your personal budget: {_pounds(v['annual_pence'])} a year "
                f"({_pounds(v['weekly_pence'])} a week)"
            )
        case LineKind.CONTRIBUTION:
            limited = (
                " (your assessed contribution is more, so it stops at your budget)"
                if v["limited"]
                else ""
            )
            return (
                f"Minus your contribution of {_pounds(v['contribution_annual_pence'])} a year "
                f"({_pounds(v['assessed_weekly_pence'])} a week x {WEEKS_PER_YEAR}){limited}"
            )
        case LineKind.RESULT:
            return (
                f"The council pays: {_pounds(v['annual_pence'])} a year "
                f"({_pounds(v['weekly_pence'])} a week)"
            )


@dataclass(frozen=True, slots=True)
class _QuestionLookup:
    id: str
    required: bool
    group: str | None
    lines: Mapping[str, ExplanationLine]  # option id -> its precomputed answer line
    not_answered: ExplanationLine


@dataclass(frozen=True, slots=True)
class _Lookup:
    """Per-scheme answer lines built once, so allocate() only looks them up."""

    rows: tuple[tuple[str, bool, str | None, Mapping[str, ExplanationLine], ExplanationLine], ...]
    options: Mapping[str, Mapping[str, ExplanationLine]]
    grouped: bool


_LOOKUPS: dict[int, tuple[Scheme, _Lookup]] = {}


def _lookup(scheme: Scheme) -> _Lookup:
    cached = _LOOKUPS.get(id(scheme))
    if cached is not None and cached[0] is scheme:
        return cached[1]
    questions = tuple(
        _QuestionLookup(
            id=q.id,
            required=q.required,
            group=q.group,
            lines={
                o.id: ExplanationLine(
                    LineKind.ANSWER,
                    q.id,
                    o.points,
                    0,
                    {"question": q.id, "option": o.id, "points": o.points, "topic": q.topic},
                )
                for o in q.options
            },
            not_answered=ExplanationLine(
                LineKind.NOT_ANSWERED, q.id, 0, 0, {"question": q.id, "topic": q.topic}
            ),
        )
        for q in scheme.questions
    )
    lookup = _Lookup(
        rows=tuple((q.id, q.required, q.group, q.lines, q.not_answered) for q in questions),
        options={q.id: q.lines for q in questions},
        grouped=any(q.group is not None for q in questions),
    )
    if len(_LOOKUPS) > 64:  # schemes are few; this only guards against unbounded growth
        _LOOKUPS.clear()
    _LOOKUPS[id(scheme)] = (scheme, lookup)
    return lookup


def check_answers(answers: Answers, scheme: Scheme) -> None:
    """Raise AnswersError naming every unknown question or option and every missing answer."""
    options_by_question = _lookup(scheme).options
    problems: list[str] = []
    for question_id, option_id in answers.choices.items():
        options = options_by_question.get(question_id)
        if options is None:
            problems.append(f"unknown question {question_id!r}")
        elif not isinstance(option_id, str) or option_id not in options:
            known = ", ".join(options)
            problems.append(
                f"question {question_id!r} has no option {option_id!r} (options: {known})"
            )
    missing = [q.id for q in scheme.questions if q.required and q.id not in answers.choices]
    if missing:
        problems.append("required questions not answered: " + ", ".join(missing))
    contribution = answers.contribution_weekly_pence
    if scheme.means_tested:
        if contribution is None:
            problems.append(
                "the weekly contribution from the financial assessment is missing "
                "(give 0 if the person pays nothing)"
            )
        elif isinstance(contribution, bool) or not isinstance(contribution, int):
            problems.append(f"the weekly contribution must be whole pence, not {contribution!r}")
        elif contribution < 0:
            problems.append(f"the weekly contribution must not be negative, got {contribution}")
    elif contribution is not None:
        problems.append(f"scheme {scheme.id!r} is not means-tested: leave the contribution out")
    if problems:
        raise AnswersError(problems)


def allocate(answers: Answers, rules: Scheme) -> Allocation:
    """The indicative budget for these answers under these rules, with its explanation.

    Raises AnswersError for unknown questions or options, missing required answers, or a
    contribution that is missing (means-tested scheme), present (other schemes) or negative.
    """
    lookup = _lookup(rules)
    choices = answers.choices
    contribution_weekly = answers.contribution_weekly_pence
    if rules.means_tested != (contribution_weekly is not None) or (
        contribution_weekly is not None
        and (type(contribution_weekly) is not int or contribution_weekly < 0)
    ):
        check_answers(answers, rules)  # raises, naming every problem

    lines: list[ExplanationLine] = []
    append = lines.append
    get_choice = choices.get
    points = 0
    answered = 0
    raw_by_group: dict[str, int] = {}
    # Hot loop (see bench/bench_formula.py): tuples unpacked into locals, no attribute access.
    for question_id, required, group_id, option_lines, not_answered in lookup.rows:
        option_id = get_choice(question_id)
        if option_id is None:
            if required:
                check_answers(answers, rules)
            line = not_answered
        else:
            found = option_lines.get(option_id)
            if found is None:
                check_answers(answers, rules)
                raise AssertionError("unreachable: check_answers raises")  # pragma: no cover
            line = found
            answered += 1
        append(line)
        points += line.points
        if group_id is not None:
            raw_by_group[group_id] = raw_by_group.get(group_id, 0) + line.points
    if answered != len(choices):
        check_answers(answers, rules)  # some answers name unknown questions
    if lookup.grouped:
        for group_id, raw in raw_by_group.items():
            group = rules.groups[group_id]
            if group.weight.is_hundred:
                continue
            weighted = group.weight.of(raw)
            points += weighted - raw
            lines.append(
                ExplanationLine(
                    LineKind.GROUP_WEIGHT,
                    group_id,
                    weighted - raw,
                    0,
                    {
                        "group": group_id,
                        "name": group.name,
                        "weight_percent": group.weight.text,
                        "raw_points": raw,
                        "weighted_points": weighted,
                    },
                )
            )
    lines.append(ExplanationLine(LineKind.POINTS_TOTAL, "", 0, 0, {"points": points}))

    band, base = _money_from_points(rules, points, lines)
    budget = base
    if rules.contingency.numerator:
        contingency = rules.contingency.of(base)
        budget += contingency
        lines.append(
            ExplanationLine(
                LineKind.CONTINGENCY,
                "",
                0,
                contingency,
                {
                    "percent": rules.contingency.text,
                    "base_pence": base,
                    "amount_pence": contingency,
                },
            )
        )
    carer = rules.carer_element
    if carer is not None and choices.get(carer.question_id) in carer.option_ids:
        budget += carer.annual_pence
        lines.append(
            ExplanationLine(
                LineKind.CARER_ELEMENT,
                carer.question_id,
                0,
                carer.annual_pence,
                {"name": carer.name, "amount_pence": carer.annual_pence},
            )
        )
    if budget < rules.floor_pence:
        lines.append(
            ExplanationLine(
                LineKind.FLOOR,
                "",
                0,
                rules.floor_pence - budget,
                {"floor_pence": rules.floor_pence, "before_pence": budget},
            )
        )
        budget = rules.floor_pence
    elif budget > rules.cap_pence:
        lines.append(
            ExplanationLine(
                LineKind.CAP,
                "",
                0,
                rules.cap_pence - budget,
                {"cap_pence": rules.cap_pence, "before_pence": budget},
            )
        )
        budget = rules.cap_pence
    lines.append(
        ExplanationLine(
            LineKind.PERSONAL_BUDGET,
            "",
            0,
            0,
            {"annual_pence": budget, "weekly_pence": weekly_from_annual(budget)},
        )
    )

    contribution = 0
    if contribution_weekly is not None:
        assessed = contribution_weekly * WEEKS_PER_YEAR
        contribution = min(assessed, budget)
        lines.append(
            ExplanationLine(
                LineKind.CONTRIBUTION,
                "",
                0,
                -contribution,
                {
                    "assessed_weekly_pence": contribution_weekly,
                    "assessed_annual_pence": assessed,
                    "contribution_annual_pence": contribution,
                    "limited": int(assessed > budget),
                },
            )
        )
    result = budget - contribution
    lines.append(
        ExplanationLine(
            LineKind.RESULT,
            "",
            0,
            0,
            {"annual_pence": result, "weekly_pence": weekly_from_annual(result)},
        )
    )
    return Allocation(
        scheme_id=rules.id,
        scheme_version=rules.version,
        points=points,
        band=band,
        personal_budget_annual_pence=budget,
        contribution_annual_pence=contribution,
        annual_pence=result,
        lines=tuple(lines),
    )


def _money_from_points(
    rules: Scheme, points: int, lines: list[ExplanationLine]
) -> tuple[Band | None, int]:
    if rules.method is AllocationMethod.PRICE_PER_POINT:
        price = rules.price_per_point_pence
        assert price is not None
        amount = points * price
        lines.append(
            ExplanationLine(
                LineKind.PRICE_PER_POINT,
                "",
                0,
                amount,
                {"points": points, "price_per_point_pence": price},
            )
        )
        return None, amount
    band = rules.bands[bisect.bisect_right(rules.band_starts, points) - 1]
    amount = band.annual_pence
    lines.append(
        ExplanationLine(
            LineKind.BAND,
            band.id,
            0,
            amount,
            {
                "points": points,
                "band": band.id,
                "name": band.name,
                "from_points": band.from_points,
                "to_points": -1 if band.to_points is None else band.to_points,
                "band_pence": amount,
            },
        )
    )
    if (
        rules.method is AllocationMethod.BANDS_THEN_RATE
        and band.to_points is not None
        and points > band.to_points
    ):
        rate = rules.rate_above_top_band_pence
        assert rate is not None
        above = points - band.to_points
        extra = above * rate
        amount += extra
        lines.append(
            ExplanationLine(
                LineKind.ABOVE_TOP_BAND,
                band.id,
                0,
                extra,
                {"points_above": above, "top_points": band.to_points, "rate_pence": rate},
            )
        )
    return band, amount


def parse_answers(data: Mapping[str, Any], *, source: str) -> Answers:
    """Read parsed answers-file TOML: `question_id = "option_id"` lines and an optional
    `[contribution]` table with `weekly_pence`. Raises AnswersError naming the source and key.
    """
    problems: list[str] = []
    choices: dict[str, str] = {}
    contribution: int | None = None
    for key, value in data.items():
        if key == "contribution":
            if not isinstance(value, dict):
                problems.append("contribution: must be a table with weekly_pence")
                continue
            for extra in value.keys() - {"weekly_pence"}:
                problems.append(f"contribution.{extra}: unknown key")
            weekly = value.get("weekly_pence")
            if "weekly_pence" not in value:
                problems.append("contribution.weekly_pence: missing")
            elif isinstance(weekly, bool) or not isinstance(weekly, int):
                problems.append("contribution.weekly_pence: must be a whole number of pence")
            elif weekly < 0:
                problems.append(f"contribution.weekly_pence: must not be negative, got {weekly}")
            else:
                contribution = weekly
        elif isinstance(value, str):
            choices[key] = value
        else:
            problems.append(f"{key}: must be an option id in quotes")
    if problems:
        raise AnswersError(problems, source=source)
    return Answers(choices=choices, contribution_weekly_pence=contribution)


def load_answers(path: str | Path) -> Answers:
    """Load an answers file (TOML). Raises AnswersError naming the file for any problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnswersError(["file not found"], source=source) from None
    except (OSError, UnicodeDecodeError) as error:
        raise AnswersError([f"cannot read the file ({error})"], source=source) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AnswersError([f"not valid TOML: {error}"], source=source) from None
    return parse_answers(data, source=source)
