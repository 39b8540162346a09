"""A council's spending rules: what a personal budget cannot buy, and what needs panel approval.

Rules are data (docs/catalogue-format.md, "Spending rules"). A check reads an idea in the
person's words, or a catalogue item, and answers allowed / needs approval / not allowed with
the rule's plain reason. Trigger words are matched as whole words with endings folded, so
"wine tasting" is caught by "wine" while "swine flu jab" is not, and a rule's `unless`
phrases ("alcohol free", "cooking class") cancel it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from dialogs.ideas.catalogue import CatalogueError, CatalogueItem, ItemKind
from dialogs.ideas.text import PhraseIndex
from formula.money import format_pounds
from formula.pricing import Cost, annual_pence


class Verdict(StrEnum):
    ALLOWED = "allowed"
    NEEDS_APPROVAL = "needs_approval"
    NOT_ALLOWED = "not_allowed"


_SEVERITY = {Verdict.ALLOWED: 0, Verdict.NEEDS_APPROVAL: 1, Verdict.NOT_ALLOWED: 2}


@dataclass(frozen=True, slots=True)
class SpendingRule:
    id: str
    verdict: Verdict
    reason: str
    triggers: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    kinds: tuple[ItemKind, ...] = ()
    # The rule applies only when the yearly cost is at least this (None: whatever the cost).
    from_annual_pence: int | None = None
    reason_cy: str | None = None  # the reason in Welsh, when the council gives one


@dataclass(frozen=True, slots=True)
class RuleVerdict:
    verdict: Verdict
    reason: str  # English, always there
    rule_id: str | None
    quote: str | None = None  # the words of the idea that triggered the rule
    reason_cy: str | None = None  # Welsh, when the rule has one


@dataclass(frozen=True)
class SpendingRules:
    rules: tuple[SpendingRule, ...]
    source: str = "<memory>"
    _triggers: PhraseIndex = field(init=False, repr=False)
    _unless: PhraseIndex = field(init=False, repr=False)
    _by_id: dict[str, SpendingRule] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        triggers = [(r.id, p) for r in self.rules for p in r.triggers]
        unless = [(r.id, p) for r in self.rules for p in r.unless]
        object.__setattr__(self, "_triggers", PhraseIndex(triggers, extra=unless, strict=True))
        object.__setattr__(self, "_unless", PhraseIndex(unless, extra=triggers, strict=True))
        object.__setattr__(self, "_by_id", {r.id: r for r in self.rules})

    def get(self, rule_id: str) -> SpendingRule | None:
        return self._by_id.get(rule_id)


ALLOWED_REASON = "Nothing in the council's spending rules stops this."
ALLOWED_REASON_CY = "Does dim byd yn rheolau gwario'r cyngor yn atal hyn."

_RULE_KEYS = {
    "id": True,
    "verdict": True,
    "reason": True,
    "reason_cy": False,
    "triggers": False,
    "unless": False,
    "kinds": False,
    "from_annual_pence": False,
}


def _rule(table: Any, where: str) -> SpendingRule:
    if not isinstance(table, dict):
        raise CatalogueError(f"{where}: must be a table")
    for key in table:
        if key not in _RULE_KEYS:
            raise CatalogueError(f"{where}: key '{key}': unknown key")
    for key, required in _RULE_KEYS.items():
        if required and key not in table:
            raise CatalogueError(f"{where}: key '{key}': is missing")
    rule_id = table["id"]
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise CatalogueError(f"{where}: key 'id': must be non-empty text")
    where = f"{where} ({rule_id})"

    def texts(key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise CatalogueError(f"{where}: key '{key}': must be a list of non-empty texts")
        return tuple(value)

    try:
        verdict = Verdict(table["verdict"])
    except ValueError:
        raise CatalogueError(
            f"{where}: key 'verdict': must be not_allowed or needs_approval"
        ) from None
    if verdict is Verdict.ALLOWED:
        raise CatalogueError(
            f"{where}: key 'verdict': a rule must be not_allowed or needs_approval"
        )
    reason = table["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise CatalogueError(f"{where}: key 'reason': must be non-empty text")
    reason_cy = table.get("reason_cy")
    if reason_cy is not None and (not isinstance(reason_cy, str) or not reason_cy.strip()):
        raise CatalogueError(f"{where}: key 'reason_cy': must be non-empty text when given")
    try:
        kinds = tuple(ItemKind(k) for k in texts("kinds"))
    except ValueError:
        raise CatalogueError(f"{where}: key 'kinds': unknown item kind") from None
    threshold = table.get("from_annual_pence")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0
    ):
        raise CatalogueError(f"{where}: key 'from_annual_pence': must be whole pence, 0 or more")
    triggers = texts("triggers")
    if not triggers and not kinds and threshold is None:
        raise CatalogueError(
            f"{where}: key 'triggers': a rule needs triggers, kinds or a threshold"
        )
    return SpendingRule(
        id=rule_id.strip(),
        verdict=verdict,
        reason=reason.strip(),
        triggers=triggers,
        unless=texts("unless"),
        kinds=kinds,
        from_annual_pence=threshold,
        reason_cy=reason_cy.strip() if reason_cy is not None else None,
    )


def parse_spending_rules(data: Mapping[str, Any], *, source: str) -> SpendingRules:
    """Validate parsed TOML into SpendingRules (raises CatalogueError)."""
    for key in data:
        if key not in ("rule", "council", "version"):
            raise CatalogueError(f"{source}: key '{key}': unknown top-level key")
    raw = data.get("rule")
    if not isinstance(raw, list) or not raw:
        raise CatalogueError(f"{source}: key 'rule': needs at least one [[rule]] table")
    rules = [_rule(table, f"{source}: rule {n}") for n, table in enumerate(raw, 1)]
    ids = [r.id for r in rules]
    for n, rule_id in enumerate(ids, 1):
        if ids.index(rule_id) != n - 1:
            raise CatalogueError(f"{source}: rule {n} ({rule_id}): key 'id': duplicate id")
    return SpendingRules(tuple(rules), source=source)


def load_spending_rules(path: Path | None = None) -> SpendingRules:
    """Load a council's spending rules (None: the shipped default). Raises CatalogueError."""
    try:
        if path is None:
            source = "dialogs/ideas/data/spending_rules.toml"
            raw = resources.files("dialogs.ideas").joinpath("data", "spending_rules.toml")
            text = raw.read_text("utf-8")
        else:
            source = str(path)
            text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogueError(f"{path}: cannot be read: {error.strerror or error}") from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{source}: not valid TOML: {error}") from error
    return parse_spending_rules(data, source=source)


def _threshold_reason(rule: SpendingRule, annual: int | None) -> str:
    if rule.from_annual_pence is None:
        return rule.reason
    limit = format_pounds(rule.from_annual_pence)
    if annual is None:
        return f"{rule.reason} (This applies from {limit} a year; tell us the cost to check.)"
    return f"{rule.reason} (It costs {format_pounds(annual)} a year; the limit is {limit}.)"


def _threshold_reason_cy(rule: SpendingRule, annual: int | None) -> str | None:
    if rule.reason_cy is None or rule.from_annual_pence is None:
        return rule.reason_cy
    limit = format_pounds(rule.from_annual_pence)
    if annual is None:
        return (
            f"{rule.reason_cy} (Mae hyn yn berthnasol o {limit} y flwyddyn; "
            "dywedwch wrthym faint mae'n ei gostio er mwyn i ni wirio.)"
        )
    return (
        f"{rule.reason_cy} (Mae'n costio {format_pounds(annual)} y flwyddyn; y terfyn yw {limit}.)"
    )


def _verdict(
    text: str, cost: Cost | None, rules: SpendingRules, kind: ItemKind | None
) -> RuleVerdict:
    annual = annual_pence(cost) if cost is not None else None
    cancelled = {hit.key for hit in rules._unless.find(text)}
    found: list[tuple[SpendingRule, str | None]] = []
    for hit in rules._triggers.find(text):
        rule = rules.get(hit.key)
        if rule is not None and rule.id not in cancelled:
            found.append((rule, hit.quote))
    if kind is not None:
        found.extend((r, None) for r in rules.rules if kind in r.kinds and r.id not in cancelled)
    found.extend((r, None) for r in rules.rules if not r.triggers and not r.kinds)
    best: RuleVerdict | None = None
    for rule, quote in found:
        threshold = rule.from_annual_pence
        # Below a cost threshold the rule does not apply; with no cost given it may, so say so.
        if threshold is not None and annual is not None and annual < threshold:
            continue
        if threshold is not None and annual is None and not rule.triggers and not rule.kinds:
            continue
        candidate = RuleVerdict(
            rule.verdict,
            _threshold_reason(rule, annual),
            rule.id,
            quote,
            _threshold_reason_cy(rule, annual),
        )
        if best is None or _SEVERITY[candidate.verdict] > _SEVERITY[best.verdict]:
            best = candidate
    return best or RuleVerdict(Verdict.ALLOWED, ALLOWED_REASON, None, None, ALLOWED_REASON_CY)


def check_idea(text: str, *, cost: Cost | None, rules: SpendingRules) -> RuleVerdict:
    """Can a personal budget pay for this idea? The strictest rule that applies wins."""
    return _verdict(text, cost, rules, None)


def check_item(item: CatalogueItem, rules: SpendingRules) -> RuleVerdict:
    """The spending-rule verdict for a catalogue item, from its name, synonyms, kind and cost."""
    text = " ; ".join((item.name, *item.synonyms))
    return _verdict(text, item.cost, rules, item.kind)
