"""A council's allocation rules (a "scheme"), loaded from a TOML rules file and validated.

The format is documented in docs/rules-format.md. Loading either returns a complete `Scheme`
or raises `RulesError` listing every problem found (file, key, problem). Nothing has a silent
default: a missing field is an error, and so is a key the format does not know (a typo).
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from formula.errors import Problem, RulesError
from formula.pricing import WEEKS_PER_YEAR
from formula.wellbeing import EligibilityOutcome, WellbeingArea

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
# The answers file uses this table for the financial assessment, so no question may take it.
RESERVED_QUESTION_IDS = frozenset({"contribution"})
SUPPORTED_CURRENCY = "GBP"
SUPPORTED_ROUNDING = "half_up"
MAX_WEIGHT_PERCENT = Decimal(1000)
MAX_PERCENT_DECIMALS = 4

_E = TypeVar("_E", bound=StrEnum)


class AllocationMethod(StrEnum):
    PRICE_PER_POINT = "price_per_point"
    BANDS = "bands"
    BANDS_THEN_RATE = "bands_then_rate"  # bands, then a rate per point above the top band


class AmountsPeriod(StrEnum):
    YEAR = "year"
    WEEK = "week"  # amounts in the file are weekly; multiplied by 52 when loaded


def div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers (as ROUND_HALF_UP)."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    quotient = (2 * abs(numerator) + denominator) // (2 * denominator)
    return quotient if numerator >= 0 else -quotient


@dataclass(frozen=True, slots=True)
class Percentage:
    """A percentage as written in the rules file ("2.5"), kept exact as a fraction."""

    text: str
    numerator: int  # the fraction of the whole is numerator / denominator
    denominator: int

    @classmethod
    def parse(cls, value: Decimal) -> Percentage:
        numerator, denominator = (value / 100).as_integer_ratio()
        text = format(value.normalize(), "f")
        return cls(text=text, numerator=numerator, denominator=denominator)

    def of(self, amount: int) -> int:
        """This percentage of a whole number, rounded half up."""
        return div_half_up(amount * self.numerator, self.denominator)

    @property
    def is_hundred(self) -> bool:
        return self.numerator == self.denominator


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    label: str
    label_cy: str | None
    points: int


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    topic: str  # a short name used in explanations: "Washing and dressing"
    topic_cy: str | None
    text: str  # the question as put to the person
    text_cy: str | None
    required: bool
    wellbeing_area: WellbeingArea
    eligibility_outcome: EligibilityOutcome | None
    group: str | None
    options: tuple[Option, ...]

    def option(self, option_id: str) -> Option:
        for option in self.options:
            if option.id == option_id:
                return option
        raise KeyError(option_id)

    @property
    def max_points(self) -> int:
        return max(option.points for option in self.options)


@dataclass(frozen=True, slots=True)
class Band:
    id: str
    name: str
    name_cy: str | None
    from_points: int
    to_points: int | None  # None: this band and above (only the top band of method "bands")
    annual_pence: int

    @property
    def range_text(self) -> str:
        if self.to_points is None:
            return f"{self.from_points} and above"
        return f"{self.from_points}-{self.to_points}"


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    name: str
    name_cy: str | None
    weight: Percentage


@dataclass(frozen=True, slots=True)
class CarerElement:
    name: str
    name_cy: str | None
    question_id: str
    option_ids: frozenset[str]
    annual_pence: int


@dataclass(frozen=True)
class Scheme:
    """A validated scheme. Every amount is annual pence, whatever period the file used."""

    id: str
    name: str
    name_cy: str | None
    version: str
    currency: str
    source: str
    amounts_period: AmountsPeriod
    method: AllocationMethod
    price_per_point_pence: int | None
    bands: tuple[Band, ...]
    rate_above_top_band_pence: int | None
    floor_pence: int
    cap_pence: int
    contingency: Percentage
    groups: Mapping[str, Group]
    carer_element: CarerElement | None
    means_tested: bool
    questions: tuple[Question, ...]
    band_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    question_by_id: Mapping[str, Question] = field(init=False, repr=False, compare=False)
    required_ids: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Lookups precomputed once so allocate() does no searching per evaluation.
        object.__setattr__(self, "band_starts", tuple(b.from_points for b in self.bands))
        object.__setattr__(self, "question_by_id", {q.id: q for q in self.questions})
        object.__setattr__(
            self, "required_ids", frozenset(q.id for q in self.questions if q.required)
        )

    @property
    def max_points(self) -> int:
        """The most points the questionnaire can score, after group weights."""
        return _weighted_points(self, {q.id: q.max_points for q in self.questions})

    @property
    def wellbeing_areas(self) -> frozenset[WellbeingArea]:
        return frozenset(q.wellbeing_area for q in self.questions)


def _weighted_points(scheme: Scheme, points: Mapping[str, int]) -> int:
    raw_by_group: dict[str | None, int] = {}
    for question in scheme.questions:
        raw_by_group[question.group] = raw_by_group.get(question.group, 0) + points.get(
            question.id, 0
        )
    total = 0
    for group_id, raw in raw_by_group.items():
        total += raw if group_id is None else scheme.groups[group_id].weight.of(raw)
    return total


def load_scheme(path: str | Path) -> Scheme:
    """Load and validate a rules file. Raises RulesError naming the file, key and problem."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise RulesError([Problem(source, "(file)", "file not found")]) from None
    except OSError as error:
        message = f"cannot read the file ({error.strerror or error})"
        raise RulesError([Problem(source, "(file)", message)]) from None
    return parse_scheme_text(raw.decode("utf-8", errors="replace"), source=source)


def parse_scheme_text(text: str, *, source: str) -> Scheme:
    """Parse and validate the text of a rules file; `source` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesError([Problem(source, "(file)", f"not valid TOML: {error}")]) from None
    return parse_scheme(data, source=source)


def parse_scheme(data: Mapping[str, Any], *, source: str) -> Scheme:
    """Validate already-parsed TOML data. Raises RulesError with every problem found."""
    return _SchemeReader(source).read(data)


class _Missing:
    """Marks a value that was wrong: the problem is recorded and reading carries on."""


_MISSING = _Missing()


class _SchemeReader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.source, key, message))

    # Typed getters: each records a problem and returns None when the value is unusable.

    def table(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> Mapping[str, Any] | None:
        if key not in data:
            if required:
                self.problem(path, "missing table")
            return None
        value = data[key]
        if not isinstance(value, dict):
            self.problem(path, f"must be a table, not {_kind(value)}")
            return None
        return value

    def string(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> str | None:
        if key not in data:
            if required:
                self.problem(path, "missing")
            return None
        value = data[key]
        if not isinstance(value, str):
            self.problem(path, f"must be text, not {_kind(value)}")
            return None
        if not value.strip():
            self.problem(path, "must not be empty")
            return None
        return value.strip()

    def identifier(self, data: Mapping[str, Any], key: str, path: str) -> str | None:
        value = self.string(data, key, path)
        if value is not None and not ID_PATTERN.match(value):
            self.problem(
                path,
                f"{value!r} is not a valid id (lower-case letters, digits, _ or -, "
                "starting with a letter or digit, at most 32 characters)",
            )
            return None
        return value

    def boolean(self, data: Mapping[str, Any], key: str, path: str) -> bool | None:
        if key not in data:
            self.problem(path, "missing")
            return None
        value = data[key]
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, not {_kind(value)}")
            return None
        return value

    def whole(
        self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True
    ) -> int | None:
        """A whole number of zero or more (points or pence)."""
        if key not in data:
            if required:
                self.problem(path, "missing")
            return None
        value = data[key]
        if isinstance(value, bool) or not isinstance(value, int):
            hint = " (money is whole pence, never a decimal)" if isinstance(value, float) else ""
            self.problem(path, f"must be a whole number, not {_kind(value)}{hint}")
            return None
        if value < 0:
            self.problem(path, f"must not be negative, got {value}")
            return None
        return value

    def percentage(
        self, data: Mapping[str, Any], key: str, path: str, *, low: Decimal, high: Decimal
    ) -> Percentage | None:
        if key not in data:
            self.problem(path, "missing")
            return None
        value = data[key]
        number: Decimal | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = Decimal(value)
        elif isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                number = None
            if number is not None and not number.is_finite():
                number = None
        if number is None:
            self.problem(
                path,
                f'must be a whole number or a quoted decimal such as "2.5", not {_kind(value)}',
            )
            return None
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -MAX_PERCENT_DECIMALS:
            self.problem(path, f"must have at most {MAX_PERCENT_DECIMALS} decimal places")
            return None
        if not low <= number <= high:
            self.problem(path, f"must be between {low} and {high}, got {value}")
            return None
        return Percentage.parse(number)

    def tables(self, data: Mapping[str, Any], key: str, path: str) -> list[Mapping[str, Any]]:
        """An array of tables ([[key]]); records a problem if missing or empty."""
        if key not in data:
            self.problem(path, "missing")
            return []
        value = data[key]
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.problem(path, f"must be an array of tables ([[{key}]]), not {_kind(value)}")
            return []
        if not value:
            self.problem(path, "must not be empty")
        return value

    def no_unknown_keys(self, data: Mapping[str, Any], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.problem(where, "unknown key (check the spelling against the format)")

    def choice(
        self, data: Mapping[str, Any], key: str, path: str, enum: type[_E], *, required: bool
    ) -> _E | None:
        value = self.string(data, key, path, required=required)
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            self.problem(path, f"unknown value {value!r}; use one of: {allowed}")
            return None

    # The sections of the file.

    def read(self, data: Mapping[str, Any]) -> Scheme:
        self.no_unknown_keys(
            data,
            {"scheme", "period", "allocation", "adjustments", "contribution", "questions"},
            "",
        )
        header = self.table(data, "scheme", "scheme") or {}
        self.no_unknown_keys(header, {"id", "name", "name_cy", "version", "currency"}, "scheme")
        scheme_id = self.identifier(header, "id", "scheme.id")
        name = self.string(header, "name", "scheme.name")
        name_cy = self.string(header, "name_cy", "scheme.name_cy", required=False)
        version = self.string(header, "version", "scheme.version")
        currency = self.string(header, "currency", "scheme.currency")
        if currency is not None and currency != SUPPORTED_CURRENCY:
            self.problem("scheme.currency", f"only {SUPPORTED_CURRENCY} is supported")

        period = self.read_period(data)
        factor = WEEKS_PER_YEAR if period is AmountsPeriod.WEEK else 1
        questions = self.read_questions(data)
        groups, carer = self.read_adjustments(data, questions, factor)
        self.check_groups(questions, groups)

        contribution = self.table(data, "contribution", "contribution") or {}
        self.no_unknown_keys(contribution, {"means_tested"}, "contribution")
        means_tested = self.boolean(contribution, "means_tested", "contribution.means_tested")

        allocation = self.table(data, "allocation", "allocation") or {}
        method, price, bands, rate, floor, cap, contingency = self.read_allocation(
            allocation, factor
        )

        if self.problems:
            raise RulesError(self.problems)
        assert scheme_id and name and version and currency and period and method
        assert floor is not None and cap is not None and contingency is not None
        assert means_tested is not None
        scheme = Scheme(
            id=scheme_id,
            name=name,
            name_cy=name_cy,
            version=version,
            currency=currency,
            source=self.source,
            amounts_period=period,
            method=method,
            price_per_point_pence=price,
            bands=bands,
            rate_above_top_band_pence=rate,
            floor_pence=floor,
            cap_pence=cap,
            contingency=contingency,
            groups=groups,
            carer_element=carer,
            means_tested=means_tested,
            questions=tuple(questions),
        )
        self.check_reach(scheme)
        if self.problems:
            raise RulesError(self.problems)
        return scheme

    def read_period(self, data: Mapping[str, Any]) -> AmountsPeriod | None:
        period = self.table(data, "period", "period") or {}
        self.no_unknown_keys(period, {"amounts", "weeks_per_year", "rounding"}, "period")
        amounts = self.choice(period, "amounts", "period.amounts", AmountsPeriod, required=True)
        weeks = self.whole(period, "weeks_per_year", "period.weeks_per_year")
        if weeks is not None and weeks != WEEKS_PER_YEAR:
            self.problem(
                "period.weeks_per_year",
                f"must be {WEEKS_PER_YEAR}: weekly figures are the annual figure / 52",
            )
        rounding = self.string(period, "rounding", "period.rounding")
        if rounding is not None and rounding != SUPPORTED_ROUNDING:
            self.problem(
                "period.rounding", f"must be {SUPPORTED_ROUNDING!r} (to the penny, half up)"
            )
        return amounts

    def read_questions(self, data: Mapping[str, Any]) -> list[Question]:
        questions: list[Question] = []
        seen: set[str] = set()
        for index, item in enumerate(self.tables(data, "questions", "questions")):
            question_id = self.identifier(item, "id", f"questions[{index}].id")
            path = f"questions[{question_id}]" if question_id else f"questions[{index}]"
            if question_id is not None:
                if question_id in seen:
                    self.problem(f"{path}.id", f"duplicate question id {question_id!r}")
                elif question_id in RESERVED_QUESTION_IDS:
                    self.problem(f"{path}.id", f"{question_id!r} is reserved for the answers file")
                seen.add(question_id)
            question = self.read_question(item, path, question_id)
            if question is not None:
                questions.append(question)
        return questions

    def read_question(
        self, item: Mapping[str, Any], path: str, question_id: str | None
    ) -> Question | None:
        self.no_unknown_keys(
            item,
            {
                "id",
                "topic",
                "topic_cy",
                "text",
                "text_cy",
                "required",
                "wellbeing_area",
                "eligibility_outcome",
                "group",
                "options",
            },
            path,
        )
        topic = self.string(item, "topic", f"{path}.topic")
        topic_cy = self.string(item, "topic_cy", f"{path}.topic_cy", required=False)
        text = self.string(item, "text", f"{path}.text")
        text_cy = self.string(item, "text_cy", f"{path}.text_cy", required=False)
        required = self.boolean(item, "required", f"{path}.required")
        area = self.choice(
            item, "wellbeing_area", f"{path}.wellbeing_area", WellbeingArea, required=True
        )
        outcome = self.choice(
            item,
            "eligibility_outcome",
            f"{path}.eligibility_outcome",
            EligibilityOutcome,
            required=False,
        )
        group = self.identifier(item, "group", f"{path}.group") if "group" in item else None
        options: list[Option] = []
        seen: set[str] = set()
        option_tables = self.tables(item, "options", f"{path}.options")
        if len(option_tables) == 1:
            self.problem(f"{path}.options", "a question needs at least two options")
        for index, option_item in enumerate(option_tables):
            option_id = self.identifier(option_item, "id", f"{path}.options[{index}].id")
            option_path = f"{path}.options[{option_id or index}]"
            self.no_unknown_keys(option_item, {"id", "label", "label_cy", "points"}, option_path)
            if option_id is not None:
                if option_id in seen:
                    self.problem(f"{option_path}.id", f"duplicate option id {option_id!r}")
                seen.add(option_id)
            label = self.string(option_item, "label", f"{option_path}.label")
            label_cy = self.string(
                option_item, "label_cy", f"{option_path}.label_cy", required=False
            )
            points = self.whole(option_item, "points", f"{option_path}.points")
            if option_id is not None and label is not None and points is not None:
                options.append(Option(option_id, label, label_cy, points))
        if (
            question_id is None
            or topic is None
            or text is None
            or required is None
            or area is None
            or len(options) != len(option_tables)
            or not options
        ):
            return None
        return Question(
            id=question_id,
            topic=topic,
            topic_cy=topic_cy,
            text=text,
            text_cy=text_cy,
            required=required,
            wellbeing_area=area,
            eligibility_outcome=outcome,
            group=group,
            options=tuple(options),
        )

    def read_adjustments(
        self, data: Mapping[str, Any], questions: list[Question], factor: int
    ) -> tuple[dict[str, Group], CarerElement | None]:
        adjustments = self.table(data, "adjustments", "adjustments", required=False) or {}
        self.no_unknown_keys(adjustments, {"groups", "carer_element"}, "adjustments")
        groups: dict[str, Group] = {}
        group_tables = self.table(adjustments, "groups", "adjustments.groups", required=False)
        for group_id, item in (group_tables or {}).items():
            path = f"adjustments.groups.{group_id}"
            if not ID_PATTERN.match(group_id):
                self.problem(path, f"{group_id!r} is not a valid id")
                continue
            if not isinstance(item, dict):
                self.problem(path, f"must be a table, not {_kind(item)}")
                continue
            self.no_unknown_keys(item, {"name", "name_cy", "weight_percent"}, path)
            name = self.string(item, "name", f"{path}.name")
            name_cy = self.string(item, "name_cy", f"{path}.name_cy", required=False)
            weight = self.percentage(
                item,
                "weight_percent",
                f"{path}.weight_percent",
                low=Decimal(0),
                high=MAX_WEIGHT_PERCENT,
            )
            if weight is not None and weight.numerator == 0:
                self.problem(f"{path}.weight_percent", "must be more than 0")
            elif name is not None and weight is not None:
                groups[group_id] = Group(group_id, name, name_cy, weight)

        carer: CarerElement | None = None
        item = self.table(adjustments, "carer_element", "adjustments.carer_element", required=False)
        if item is not None:
            path = "adjustments.carer_element"
            self.no_unknown_keys(
                item, {"name", "name_cy", "question", "options", "amount_pence"}, path
            )
            name = self.string(item, "name", f"{path}.name")
            name_cy = self.string(item, "name_cy", f"{path}.name_cy", required=False)
            question_id = self.string(item, "question", f"{path}.question")
            amount = self.whole(item, "amount_pence", f"{path}.amount_pence")
            option_ids = self.carer_options(item, path, question_id, questions)
            if name and question_id and amount is not None and option_ids:
                carer = CarerElement(name, name_cy, question_id, option_ids, amount * factor)
        return groups, carer

    def carer_options(
        self,
        item: Mapping[str, Any],
        path: str,
        question_id: str | None,
        questions: list[Question],
    ) -> frozenset[str] | None:
        options = item.get("options")
        if "options" not in item:
            self.problem(f"{path}.options", "missing")
            return None
        if (
            not isinstance(options, list)
            or not options
            or not all(isinstance(o, str) for o in options)
        ):
            self.problem(f"{path}.options", "must be a non-empty list of option ids")
            return None
        if question_id is None:
            return None
        question = next((q for q in questions if q.id == question_id), None)
        if question is None:
            self.problem(f"{path}.question", f"no question has the id {question_id!r}")
            return None
        known = {option.id for option in question.options}
        unknown = [o for o in options if o not in known]
        if unknown:
            self.problem(
                f"{path}.options",
                f"question {question_id!r} has no option {', '.join(map(repr, unknown))}",
            )
            return None
        return frozenset(options)

    def check_groups(self, questions: list[Question], groups: dict[str, Group]) -> None:
        used = {q.group for q in questions if q.group is not None}
        for question in questions:
            if question.group is not None and question.group not in groups:
                self.problem(
                    f"questions[{question.id}].group",
                    f"group {question.group!r} is not declared in [adjustments.groups]",
                )
        for group_id in groups:
            if group_id not in used:
                self.problem(f"adjustments.groups.{group_id}", "no question is in this group")

    def read_allocation(
        self, allocation: Mapping[str, Any], factor: int
    ) -> tuple[
        AllocationMethod | None,
        int | None,
        tuple[Band, ...],
        int | None,
        int | None,
        int | None,
        Percentage | None,
    ]:
        self.no_unknown_keys(
            allocation,
            {
                "method",
                "price_per_point_pence",
                "bands",
                "rate_above_top_band_pence",
                "floor_pence",
                "cap_pence",
                "contingency_percent",
            },
            "allocation",
        )
        method = self.choice(
            allocation, "method", "allocation.method", AllocationMethod, required=True
        )
        floor = self.whole(allocation, "floor_pence", "allocation.floor_pence")
        cap = self.whole(allocation, "cap_pence", "allocation.cap_pence")
        if floor is not None and cap is not None and floor > cap:
            self.problem(
                "allocation.floor_pence",
                f"the floor ({floor}) is above the cap ({cap})",
            )
        contingency = self.percentage(
            allocation,
            "contingency_percent",
            "allocation.contingency_percent",
            low=Decimal(0),
            high=Decimal(100),
        )
        price = self.only_for(
            allocation, "price_per_point_pence", method, {AllocationMethod.PRICE_PER_POINT}
        )
        rate = self.only_for(
            allocation, "rate_above_top_band_pence", method, {AllocationMethod.BANDS_THEN_RATE}
        )
        bands: tuple[Band, ...] = ()
        banded = {AllocationMethod.BANDS, AllocationMethod.BANDS_THEN_RATE}
        if method in banded:
            bands = self.read_bands(allocation, method, factor)
        elif "bands" in allocation and method is not None:
            self.problem("allocation.bands", f"bands are not used with method {method.value!r}")
        return (
            method,
            None if price is None else price * factor,
            bands,
            None if rate is None else rate * factor,
            None if floor is None else floor * factor,
            None if cap is None else cap * factor,
            contingency,
        )

    def only_for(
        self,
        allocation: Mapping[str, Any],
        key: str,
        method: AllocationMethod | None,
        methods: set[AllocationMethod],
    ) -> int | None:
        path = f"allocation.{key}"
        if method is None:
            return None
        if method in methods:
            return self.whole(allocation, key, path)
        if key in allocation:
            self.problem(path, f"is not used with method {method.value!r}")
        return None

    def read_bands(
        self, allocation: Mapping[str, Any], method: AllocationMethod | None, factor: int
    ) -> tuple[Band, ...]:
        bands: list[Band] = []
        seen: set[str] = set()
        items = self.tables(allocation, "bands", "allocation.bands")
        for index, item in enumerate(items):
            band_id = self.identifier(item, "id", f"allocation.bands[{index}].id")
            path = f"allocation.bands[{band_id or index}]"
            self.no_unknown_keys(
                item, {"id", "name", "name_cy", "from_points", "to_points", "amount_pence"}, path
            )
            if band_id is not None:
                if band_id in seen:
                    self.problem(f"{path}.id", f"duplicate band id {band_id!r}")
                seen.add(band_id)
            name = self.string(item, "name", f"{path}.name")
            name_cy = self.string(item, "name_cy", f"{path}.name_cy", required=False)
            low = self.whole(item, "from_points", f"{path}.from_points")
            high = self.whole(item, "to_points", f"{path}.to_points", required=False)
            amount = self.whole(item, "amount_pence", f"{path}.amount_pence")
            if low is not None and high is not None and high < low:
                self.problem(
                    f"{path}.to_points", f"to_points ({high}) is below from_points ({low})"
                )
                continue
            if band_id and name and low is not None and amount is not None:
                bands.append(Band(band_id, name, name_cy, low, high, amount * factor))
        if len(bands) != len(items) or not bands:
            return ()
        bands.sort(key=lambda band: band.from_points)
        if bands[0].from_points != 0:
            self.problem(
                f"allocation.bands[{bands[0].id}].from_points",
                f"the lowest band must start at 0 points, not {bands[0].from_points}",
            )
        for before, after in itertools.pairwise(bands):
            path = f"allocation.bands[{after.id}].from_points"
            if before.to_points is None:
                self.problem(
                    f"allocation.bands[{before.id}].to_points",
                    "missing (only the top band may leave to_points out)",
                )
            elif after.from_points <= before.to_points:
                self.problem(
                    path,
                    f"band {after.id!r} ({after.range_text}) overlaps band {before.id!r} "
                    f"({before.range_text})",
                )
            elif after.from_points > before.to_points + 1:
                self.problem(
                    path,
                    f"gap between bands: points {before.to_points + 1}-{after.from_points - 1} "
                    "are in no band",
                )
            if after.annual_pence < before.annual_pence:
                self.problem(
                    f"allocation.bands[{after.id}].amount_pence",
                    f"band {after.id!r} gives less than the band below it ({before.id!r}): "
                    "a budget must not fall as points rise",
                )
        top = bands[-1]
        if method is AllocationMethod.BANDS_THEN_RATE and top.to_points is None:
            self.problem(
                f"allocation.bands[{top.id}].to_points",
                "missing: with method 'bands_then_rate' the top band needs to_points "
                "(the rate applies above it)",
            )
        return tuple(bands)

    def check_reach(self, scheme: Scheme) -> None:
        if scheme.method is not AllocationMethod.BANDS:
            return
        top = scheme.bands[-1]
        if top.to_points is not None and scheme.max_points > top.to_points:
            self.problem(
                f"allocation.bands[{top.id}].to_points",
                f"the bands stop at {top.to_points} points but the questionnaire can score "
                f"{scheme.max_points}: leave to_points out of the top band, or add a band",
            )


def _kind(value: object) -> str:
    names = {
        bool: "true/false",
        int: "a whole number",
        float: "a decimal number",
        str: "text",
        list: "a list",
        dict: "a table",
    }
    return names.get(type(value), type(value).__name__)
