"""From a goal in the person's own words to wellbeing areas and ranked support ideas.

Lexical matching only: the goal's words are matched (whole words, folded endings, typos
corrected) against the concept phrases ("no one to talk to" -> loneliness) and the names and
synonyms of catalogue items. A concept points at item tags; an item's score is the weight of
the tags it shares with the concepts found, plus a strong bonus when the goal names the item.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass

from dialogs.ideas.catalogue import Catalogue, CatalogueItem, Concept, TagProfile, rank_weight
from dialogs.ideas.text import Token, meaningful_words, tokens
from formula.wellbeing import WellbeingArea

_NAMED_ITEM_BONUS = 3.0
_ALTERNATIVE_BONUS = 1.2
_AREA_BONUS = 0.05
_PHRASE_STRENGTH = 1.25
_NAMED_ITEM_TAG_WEIGHT = 0.5
# How much a modifier concept ("learn", "at night") adds to an item that fits the goal's topic.
_MODIFIER_SHARE = 0.5
_MIN_ALTERNATIVES = 2
_CHEAPER_OPTIONS = 3


@dataclass(frozen=True, slots=True)
class GoalMatch:
    """Words quoted from the goal and what they were understood as."""

    quote: str
    concept_id: str
    label: str


@dataclass(frozen=True, slots=True)
class GoalReading:
    """What a goal was understood to be about: ranked areas and the phrases behind them."""

    text: str
    areas: tuple[WellbeingArea, ...]
    matches: tuple[GoalMatch, ...]
    named_items: tuple[tuple[str, str], ...] = ()  # (quote, item id) where the goal names an item
    formal_services: tuple[str, ...] = ()

    @property
    def understood(self) -> bool:
        return bool(self.matches or self.named_items)


@dataclass(frozen=True, slots=True)
class Why:
    """Why an item was suggested: the goal's words it matched, and one English sentence."""

    matched: tuple[GoalMatch, ...]
    sentence: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    item: CatalogueItem
    why: Why
    weekly_pence: int
    annual_pence: int
    fits_budget: bool | None
    alternative_to: str | None
    score: float


@dataclass(frozen=True, slots=True)
class Suggestions:
    items: list[Suggestion]
    areas: tuple[WellbeingArea, ...]
    has_more: bool
    reading: GoalReading
    # Relevant items that fit the budget left, offered when something on this page does not.
    cheaper_options: list[Suggestion]


_NEGATIONS = frozenset({"not", "dont", "doesnt", "didnt", "wont", "never", "refuses", "refuse"})
# "no friends" or "not eating" state a need; only a refused wish takes a mention away.
_WISHES = frozenset({"want", "wants", "like", "go", "goes", "need", "interested", "fancy", "keen"})
_REFUSALS = frozenset({"hate", "hates", "refuses", "refuse"})
_NEGATION_REACH = 5
_CLAUSE_BREAK = re.compile(r"[.,;:!?]|\bbut\b", re.IGNORECASE)


def _negated(text: str, words: list[Token], start: int) -> bool:
    """Whether the wish for a phrase starting at `start` is refused ("I don't want therapy").

    Looks back a few words within the same clause for a refusal ("hates", "refuses") or a
    negation followed by a wish ("don't want", "won't go", "not interested").
    """
    before = [t for t in words if t.end <= start][-_NEGATION_REACH:]
    wish_seen = False
    for token in reversed(before):
        if _CLAUSE_BREAK.search(text[token.end : start]):
            return False
        if token.word in _REFUSALS or (token.word in _NEGATIONS and wish_seen):
            return True
        wish_seen = wish_seen or token.word in _WISHES
    return False


# "I'm not lonely", "she isn't depressed": the person says a problem is NOT theirs.
_DENIALS = frozenset({"not", "isnt", "arent", "wasnt", "werent", "aint"})
# Words that may sit between the denial and the problem ("not really lonely").
_DENIAL_FILLER = frozenset(
    {
        "really",
        "very",
        "that",
        "too",
        "so",
        "at",
        "all",
        "in",
        "particularly",
        "especially",
        "actually",
        "even",
        "feeling",
        "feel",
        "a",
        "any",
        "bit",
        "the",
        "usually",
        "ever",
    }
)
# Before "not" these make it an inability or a refusal, which the person does need help with
# ("I can not sleep", "I do not want therapy" is handled as a refused wish).
_AUXILIARIES = frozenset(
    {
        "can",
        "could",
        "will",
        "would",
        "do",
        "does",
        "did",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "cant",
        "wont",
        "dont",
        "doesnt",
        "didnt",
    }
)
# A good state said to be missing is a need: "I'm not confident", "she isn't safe at home".
_GOOD_STATES = frozenset(
    {
        "confident",
        "confidence",
        "independent",
        "independence",
        "fit",
        "fitter",
        "healthy",
        "healthier",
        "active",
        "strong",
        "stronger",
        "useful",
        "comfy",
        "comfortable",
        "safe",
        "relaxed",
        "relax",
        "happy",
        "able",
        "mobile",
        "steady",
        "coping",
        "sleeping",
        "eating",
    }
)


def _denied(words: list[Token], start: int) -> bool:
    """Whether the problem starting at `start` is denied ("I'm not lonely", "isn't anxious").

    Only a state is denied: an activity ("not sleeping", "not going out"), an inability
    ("can not walk") or a good state ("not confident") stays a need.
    """
    after = [t for t in words if t.start >= start]
    if not after:
        return False
    first = after[0].word
    if first in _GOOD_STATES or first.endswith("ing"):
        return False
    before = [t for t in words if t.end <= start]
    while before and before[-1].word in _DENIAL_FILLER:
        before.pop()
    if not before or before[-1].word not in _DENIALS:
        return False
    return len(before) < 2 or before[-2].word not in _AUXILIARIES


def understand_goal(text: str, catalogue: Catalogue) -> GoalReading:
    """Read a goal: the wellbeing areas it touches (ranked) and which of its words matched what.

    A refused wish ("I don't want a day centre") or a denied problem ("I'm not lonely, I just
    can't get out") is dropped; a refused formal service ("he won't go to counselling") still
    asks for alternatives to it, but the service itself is not named.
    """
    concept_index = catalogue._concept_index
    words = tokens(text)
    matches: list[GoalMatch] = []
    area_scores: dict[WellbeingArea, float] = defaultdict(float)
    seen: set[str] = set()
    formal: list[str] = []
    for hit in concept_index.find(text):
        concept = catalogue.concept(hit.key)
        if concept is None:
            continue
        if not concept.formal_service and (
            _negated(text, words, hit.start) or _denied(words, hit.start)
        ):
            continue
        matches.append(GoalMatch(hit.quote, concept.id, concept.label))
        if concept.id in seen:
            continue
        seen.add(concept.id)
        if concept.formal_service and concept.formal_service not in formal:
            formal.append(concept.formal_service)
        for position, area in enumerate(concept.areas):
            area_scores[area] += rank_weight(position)
    named: list[tuple[str, str]] = []
    for hit in catalogue._item_index.find(text):
        if _negated(text, words, hit.start):
            continue
        item = catalogue.items[int(hit.key)]
        named.append((hit.quote, item.id))
        for position, area in enumerate(item.areas):
            area_scores[area] += 0.5 * rank_weight(position)
    order = list(WellbeingArea)
    areas = tuple(sorted(area_scores, key=lambda a: (-area_scores[a], order.index(a))))
    return GoalReading(text, areas, tuple(matches), tuple(named), tuple(formal))


_ALTERNATIVES_CONSIDERED = 100

Scored = tuple[float, list[GoalMatch], str | None]


def _score_items(
    reading: GoalReading, catalogue: Catalogue, exclude: Collection[str]
) -> dict[int, Scored]:
    """Score the candidate items for a reading: concept fit, named items, alternatives."""
    weighted: list[tuple[TagProfile, float, GoalMatch]] = []
    modifiers: list[tuple[TagProfile, float, GoalMatch]] = []
    concepts: dict[str, Concept] = {}
    for match in reading.matches:
        concept = catalogue.concept(match.concept_id)
        if concept is not None and concept.id not in concepts:
            concepts[concept.id] = concept
            # A phrase of several words says more than one word ("struggle to talk"); filler
            # does not count ("at night" is one word).
            strength = _PHRASE_STRENGTH if len(meaningful_words(match.quote)) > 1 else 1.0
            entry = (catalogue.profile(concept.tags), strength, match)
            (modifiers if concept.modifier else weighted).append(entry)
    bonus: dict[int, float] = defaultdict(float)
    named_reason: dict[int, GoalMatch] = {}
    for quote, item_id in reading.named_items:
        index = catalogue.position(item_id)
        item = catalogue.items[index]
        bonus[index] += _NAMED_ITEM_BONUS
        named = GoalMatch(quote, f"item:{item.id}", item.name)
        named_reason.setdefault(index, named)
        # Items like the one named are good company for it ("swimming" -> hydrotherapy).
        weighted.append((catalogue.profile(item.tags), _NAMED_ITEM_TAG_WEIGHT, named))
    # A modifier ("learn", "at night") alone points at its own tags; beside a concept that
    # says what the goal is about, it only strengthens items that fit that concept too.
    modifiers_only = not weighted
    if modifiers_only:
        weighted, modifiers = modifiers, []
    candidates: set[int] = set(bonus)
    for profile, _strength, _match in weighted:
        candidates.update(profile.champions)
    alternative: dict[int, str] = {}
    asked_for: dict[str, GoalMatch] = {}
    for formal in reading.formal_services:
        asked = next(
            (m for m in reading.matches if _names_formal(concepts.get(m.concept_id), formal)),
            None,
        )
        if asked is not None:
            asked_for[formal] = asked
        for index in catalogue._by_alternative.get(formal, ())[:_ALTERNATIVES_CONSIDERED]:
            bonus[index] += _ALTERNATIVE_BONUS
            alternative.setdefault(index, formal)
            candidates.add(index)
    top_areas = set(reading.areas[:2])
    result: dict[int, Scored] = {}
    for index in candidates:
        item = catalogue.items[index]
        if item.id in exclude:
            continue
        score = bonus.get(index, 0.0)
        reasons: list[GoalMatch] = []
        if index in named_reason:
            reasons.append(named_reason[index])
        fitted = False
        for profile, strength, match in weighted:
            fit = profile.scores.get(index)
            if fit is not None:
                fitted = True
                score += strength * fit
                if match not in reasons:
                    reasons.append(match)
        if fitted:
            for profile, strength, match in modifiers:
                fit = profile.scores.get(index)
                if fit is not None:
                    score += _MODIFIER_SHARE * strength * fit
                    if match not in reasons:
                        reasons.append(match)
        formal_name = alternative.get(index)
        asked = asked_for.get(formal_name or "")
        if asked is not None and asked not in reasons:
            reasons.append(asked)
        score += _AREA_BONUS * len(top_areas.intersection(item.areas))
        result[index] = (score, reasons, formal_name)
    return result


def _names_formal(concept: Concept | None, formal: str) -> bool:
    return concept is not None and concept.formal_service == formal


def _sentence(item: CatalogueItem, matched: list[GoalMatch], alternative_to: str | None) -> str:
    quotes: list[str] = []
    said: set[str] = set()
    for match in matched:
        if match.quote.lower() in said or len(quotes) == 2:
            continue
        said.add(match.quote.lower())
        if match.concept_id.startswith("item:"):
            quotes.append(f'you mentioned "{match.quote}"')
        else:
            quotes.append(f'you said "{match.quote}" ({match.label})')
    because = " and ".join(quotes) if quotes else "it fits what you told us"
    sentence = f"{item.name}: suggested because {because}."
    if alternative_to:
        sentence += f" It is a community alternative to {alternative_to}."
    return sentence


def _suggestion(
    catalogue: Catalogue,
    index: int,
    scored: Scored,
    budget_left_pence: int | None,
) -> Suggestion:
    item = catalogue.items[index]
    score, matched, alternative_to = scored
    # The named formal service itself is not an alternative to itself.
    if alternative_to and any(m.concept_id == f"item:{item.id}" for m in matched):
        alternative_to = None
    annual = catalogue._annual[index]
    fits = None if budget_left_pence is None else annual <= budget_left_pence
    return Suggestion(
        item=item,
        why=Why(tuple(matched), _sentence(item, matched, alternative_to)),
        weekly_pence=catalogue._weekly[index],
        annual_pence=annual,
        fits_budget=fits,
        alternative_to=alternative_to,
        score=score,
    )


def suggest(
    goal_text: str,
    catalogue: Catalogue,
    *,
    budget_left_pence: int | None = None,
    exclude_ids: Collection[str] = (),
    limit: int = 5,
    offset: int = 0,
) -> Suggestions:
    """Ranked support ideas for a goal in the person's words.

    `budget_left_pence` is what is left of the annual budget: each suggestion says whether its
    annual cost fits; those that do not are kept and marked, and `cheaper_options` lists
    relevant items that do fit. Ids in `exclude_ids` (already chosen) are never suggested.
    When the goal names a formal service, community alternatives to it are always on the
    first page, marked with `alternative_to`.
    """
    if limit < 1 or offset < 0:
        raise ValueError(f"limit must be 1 or more and offset 0 or more, got {limit}, {offset}")
    reading = understand_goal(goal_text, catalogue)
    exclude = frozenset(exclude_ids)
    scored = _score_items(reading, catalogue, exclude)

    annual = catalogue._annual
    ids = catalogue.items
    order = [(-v[0], annual[i], ids[i].id, i) for i, v in scored.items()]
    wanted = offset + limit + 1
    ranked = [entry[3] for entry in heapq.nsmallest(wanted, order)]
    if reading.formal_services and offset == 0:
        ranked = _with_alternatives(ranked, scored, limit, order)
    page_indexes = ranked[offset : offset + limit]
    page = [_suggestion(catalogue, i, scored[i], budget_left_pence) for i in page_indexes]
    cheaper: list[Suggestion] = []
    if budget_left_pence is not None and any(s.fits_budget is False for s in page):
        on_page = set(page_indexes)
        affordable = [e for e in order if e[1] <= budget_left_pence and e[3] not in on_page]
        cheaper = [
            _suggestion(catalogue, e[3], scored[e[3]], budget_left_pence)
            for e in heapq.nsmallest(_CHEAPER_OPTIONS, affordable)
        ]
    return Suggestions(
        items=page,
        areas=reading.areas,
        has_more=len(scored) > offset + limit,
        reading=reading,
        cheaper_options=cheaper,
    )


def _with_alternatives(
    ranked: list[int],
    scored: dict[int, Scored],
    limit: int,
    order: list[tuple[float, int, str, int]],
) -> list[int]:
    """Make sure the first page holds some alternatives to a named formal service."""
    first = ranked[:limit]
    have = sum(1 for i in first if scored[i][2] is not None)
    if have >= _MIN_ALTERNATIVES:
        return ranked
    others = [e for e in order if scored[e[3]][2] is not None and e[3] not in first]
    needed = [e[3] for e in heapq.nsmallest(_MIN_ALTERNATIVES - have, others)]
    keep = first[: limit - len(needed)]
    rest = [i for i in ranked if i not in keep and i not in needed]
    return keep + needed + rest
