"""What the conversation remembers about one person between messages.

Stored as JSON after every step (see `Conversation.to_data` / `from_data`), so a person
continues where they were after a restart. Money is integer pence.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import orjson

from formula.pricing import Cost, Frequency


@dataclass
class Goal:
    id: int
    text: str  # the person's own words
    areas: list[str]  # wellbeing area values
    proposed_by: str = ""  # a helping carer's name: the person has the last word


@dataclass
class PlanItem:
    id: int
    goal_id: int | None
    name: str
    catalogue_id: str | None  # None for the person's own idea
    unit_pence: int
    frequency: str  # formula.pricing.Frequency value
    sessions_per_week: str = "1"  # Decimal as text; only for per-session items
    verdict: str = "allowed"  # spending-rule verdict: allowed or needs_approval
    reason: str = ""  # the spending rule's reason, when approval is needed
    proposed_by: str = ""  # a helping carer's name: the person has the last word

    @property
    def cost(self) -> Cost:
        return Cost(self.unit_pence, Frequency(self.frequency), Decimal(self.sessions_per_week))


@dataclass
class Budget:
    source: str  # "council" (a link code) or "estimate" (the self-assessment)
    scheme_id: str
    annual_pence: int
    weekly_pence: int
    contribution_annual_pence: int = 0
    points: int | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)  # the formula's explanation


@dataclass
class Draft:
    """Something half-entered: a goal awaiting confirmation, an idea awaiting its frequency."""

    goal_text: str = ""
    goal_areas: list[str] = field(default_factory=list)
    editing_goal_id: int | None = None
    item_id: str | None = None  # catalogue id chosen, awaiting "how often"
    own_name: str = ""
    own_unit_pence: int | None = None
    editing_item_id: int | None = None


@dataclass
class Conversation:
    step: str = "new"
    language: str | None = None
    consent: bool = False
    acting_for: str | None = None  # "self" or "other"
    pending_code: str = ""  # from a deep link (/start CODE), used once consent is given
    budget: Budget | None = None
    answers: dict[str, str] = field(default_factory=dict)
    question_index: int = 0
    goals: list[Goal] = field(default_factory=list)
    current_goal_id: int | None = None
    ideas_offset: int = 0
    ideas_shown: list[str] = field(default_factory=list)  # catalogue ids on the last list
    items: list[PlanItem] = field(default_factory=list)
    management: str | None = None
    submitted: bool = False
    history: list[str] = field(default_factory=list)  # steps to go back to with /back
    draft: Draft = field(default_factory=Draft)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def goal(self, goal_id: int | None) -> Goal | None:
        return next((g for g in self.goals if g.id == goal_id), None)

    def item(self, item_id: int | None) -> PlanItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def to_data(self) -> dict[str, Any]:
        """The state as plain JSON values, as it is stored and read back.

        orjson walks the dataclasses in Rust, a third of the time `_plain` takes (the
        budget's explanation alone is a few hundred values, saved after every step); what
        orjson refuses (half a surrogate pair, an integer beyond 64 bits) goes to `_plain`.
        """
        try:
            data: dict[str, Any] = orjson.loads(orjson.dumps(self, option=orjson.OPT_NON_STR_KEYS))
        except TypeError:
            data = _plain(self)
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any] | None) -> Conversation:
        if not data:
            return cls()
        data = dict(data)
        budget = data.pop("budget", None)
        draft = data.pop("draft", None) or {}
        goals = [Goal(**g) for g in data.pop("goals", [])]
        items = [PlanItem(**i) for i in data.pop("items", [])]
        known = {name for name in cls.__dataclass_fields__}
        kept = {k: v for k, v in data.items() if k in known}
        return cls(
            **kept,
            budget=Budget(**budget) if budget else None,
            draft=Draft(**draft),
            goals=goals,
            items=items,
        )


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names; None for any other type."""
    return tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None


_ATOMS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """What `dataclasses.asdict` gives for the values kept here, without deep-copying each
    string and number (asdict was a tenth of an update's time, saved after every step).
    Looked up by exact type first: the state is saved after every step."""
    kind: type = type(value)
    if kind in _ATOMS:
        return value
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if kind is dict:
        return {_plain(key): _plain(item) for key, item in value.items()}
    names = _field_names(kind)
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, str | int | float):  # an enum's member, say: kept as it is
        return value
    return copy.deepcopy(value)  # anything else, as asdict would
