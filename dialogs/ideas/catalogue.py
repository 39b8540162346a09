"""The catalogue of support ideas a council offers, loaded from TOML (docs/catalogue-format.md).

Loading validates every item and builds the search indexes once, so `suggest()` only does
lookups. Errors name the file, the item and the key.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from dialogs.ideas.text import PhraseIndex
from formula.pricing import Cost, Frequency, annual_pence, weekly_pence
from formula.wellbeing import WellbeingArea


class CatalogueError(ValueError):
    """A catalogue or concepts file that cannot be used; the message names file, key, problem."""


class ItemKind(StrEnum):
    FORMAL_SERVICE = "formal_service"
    COMMUNITY_ACTIVITY = "community_activity"
    LEARNING = "learning"
    EQUIPMENT = "equipment"
    PERSONAL_ASSISTANCE = "personal_assistance"
    SHORT_BREAK = "short_break"
    TRANSPORT = "transport"
    TECHNOLOGY = "technology"
    WORK_AND_VOLUNTEERING = "work_and_volunteering"


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    id: str
    name: str
    name_cy: str
    description: str
    kind: ItemKind
    areas: tuple[WellbeingArea, ...]
    tags: tuple[str, ...]
    synonyms: tuple[str, ...]
    cost: Cost
    alternative_to: tuple[str, ...] = ()
    eligibility: str = ""
    description_cy: str = ""

    @property
    def annual_pence(self) -> int:
        return annual_pence(self.cost)

    @property
    def weekly_pence(self) -> int:
        return weekly_pence(self.cost)


@dataclass(frozen=True, slots=True)
class Concept:
    """Something a person may say about their life, and what kinds of support it points to."""

    id: str
    label: str
    areas: tuple[WellbeingArea, ...]
    tags: tuple[str, ...]
    phrases: tuple[str, ...]
    formal_service: str | None = None
    # Says how or when rather than what ("learn", "at night"): beside other concepts it only
    # strengthens items that also fit them; on its own it points at its tags as usual.
    modifier: bool = False


# How much the n-th tag of a concept counts; the first is what it is mostly about.
RANK_WEIGHTS = (1.0, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2)
# An item gets its best shared tag's weight plus this share of each further shared tag.
EXTRA_TAG_SHARE = 0.3
# Only this many best-matching items per concept are candidates for a suggestion: ranking
# never needs more, and it keeps a call cheap however large the catalogue.
CHAMPIONS_PER_PROFILE = 200


def rank_weight(position: int) -> float:
    return RANK_WEIGHTS[min(position, len(RANK_WEIGHTS) - 1)]


@dataclass(frozen=True, slots=True)
class TagProfile:
    """How well each item fits a ranked list of tags, and the best-fitting items."""

    scores: dict[int, float]
    champions: tuple[int, ...]


@dataclass(frozen=True)
class Catalogue:
    """Items by id, the goal concepts, and the indexes built from them at load time."""

    items: tuple[CatalogueItem, ...]
    concepts: tuple[Concept, ...]
    source: str = "<memory>"
    _by_id: dict[str, CatalogueItem] = field(init=False, repr=False)
    _positions: dict[str, int] = field(init=False, repr=False)
    _concepts_by_id: dict[str, Concept] = field(init=False, repr=False)
    _by_tag: dict[str, tuple[int, ...]] = field(init=False, repr=False)
    _by_alternative: dict[str, tuple[int, ...]] = field(init=False, repr=False)
    _annual: tuple[int, ...] = field(init=False, repr=False)
    _weekly: tuple[int, ...] = field(init=False, repr=False)
    _profiles: dict[tuple[str, ...], TagProfile] = field(init=False, repr=False)
    _concept_index: PhraseIndex = field(init=False, repr=False)
    _item_index: PhraseIndex = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_tag: dict[str, list[int]] = defaultdict(list)
        by_alt: dict[str, list[int]] = defaultdict(list)
        for position, item in enumerate(self.items):
            for tag in item.tags:
                by_tag[tag].append(position)
            for formal in item.alternative_to:
                by_alt[formal].append(position)
        set_ = object.__setattr__
        set_(self, "_by_id", {item.id: item for item in self.items})
        set_(self, "_positions", {item.id: n for n, item in enumerate(self.items)})
        set_(self, "_concepts_by_id", {c.id: c for c in self.concepts})
        set_(self, "_by_tag", {t: tuple(p) for t, p in by_tag.items()})
        set_(self, "_annual", tuple(item.annual_pence for item in self.items))
        set_(self, "_weekly", tuple(item.weekly_pence for item in self.items))
        set_(self, "_profiles", {})
        for concept in self.concepts:
            self.profile(concept.tags)
        # Alternatives to a formal service, best fit to what the service is for first.
        ranked_alt: dict[str, tuple[int, ...]] = {}
        for formal, positions in by_alt.items():
            fits: dict[int, float] = {}
            for concept in self.concepts:
                if concept.formal_service == formal:
                    fits.update(self.profile(concept.tags).scores)
            ranked_alt[formal] = tuple(
                sorted(positions, key=lambda p: (-fits.get(p, 0.0), self._annual[p]))
            )
        set_(self, "_by_alternative", ranked_alt)
        item_phrases = [
            (str(position), phrase)
            for position, item in enumerate(self.items)
            for phrase in (item.name, *item.synonyms)
        ]
        concept_phrases = [(c.id, phrase) for c in self.concepts for phrase in c.phrases]
        # One vocabulary for both, so a typo is corrected towards any word either knows.
        set_(self, "_concept_index", PhraseIndex(concept_phrases, extra=item_phrases))
        set_(self, "_item_index", PhraseIndex(item_phrases, extra=concept_phrases))

    def get(self, item_id: str) -> CatalogueItem | None:
        return self._by_id.get(item_id)

    def profile(self, tags: tuple[str, ...]) -> TagProfile:
        """The items that share these ranked tags, scored; computed once per list of tags."""
        cached = self._profiles.get(tags)
        if cached is not None:
            return cached
        best: dict[int, float] = {}
        total: dict[int, float] = defaultdict(float)
        for position, tag in enumerate(tags):
            weight = rank_weight(position)
            for index in self._by_tag.get(tag, ()):
                total[index] += weight
                if weight > best.get(index, 0.0):
                    best[index] = weight
        scores = {i: top + EXTRA_TAG_SHARE * (total[i] - top) for i, top in best.items()}
        champions = sorted(scores, key=lambda i: (-scores[i], self._annual[i], self.items[i].id))
        profile = TagProfile(scores, tuple(champions[:CHAMPIONS_PER_PROFILE]))
        if len(self._profiles) < 10_000:
            self._profiles[tags] = profile
        return profile

    def position(self, item_id: str) -> int:
        return self._positions[item_id]

    def concept(self, concept_id: str) -> Concept | None:
        return self._concepts_by_id.get(concept_id)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[CatalogueItem]:
        return iter(self.items)


_ITEM_KEYS = {
    "id": True,
    "name": True,
    "name_cy": True,
    "description": True,
    "kind": True,
    "areas": True,
    "tags": True,
    "synonyms": False,
    "cost_pence": True,
    "frequency": True,
    "sessions_per_week": False,
    "alternative_to": False,
    "eligibility": False,
    "description_cy": False,
}
_CONCEPT_KEYS = {
    "id": True,
    "label": True,
    "areas": True,
    "tags": True,
    "phrases": True,
    "formal_service": False,
    "modifier": False,
}


def _fail(where: str, key: str, problem: str) -> CatalogueError:
    return CatalogueError(f"{where}: key '{key}': {problem}")


def _text(table: Mapping[str, Any], key: str, where: str, *, required: bool) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise _fail(where, key, f"must be text, got {type(value).__name__}")
    if required and not value.strip():
        raise _fail(where, key, "must not be empty")
    return value.strip()


def _texts(table: Mapping[str, Any], key: str, where: str, *, required: bool) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(where, key, "must be a list of non-empty texts")
    if required and not value:
        raise _fail(where, key, "must list at least one entry")
    return tuple(v.strip() for v in value)


def _check_keys(table: Mapping[str, Any], allowed: Mapping[str, bool], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise _fail(where, key, f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for key, required in allowed.items():
        if required and key not in table:
            raise _fail(where, key, "is missing")


def _areas(table: Mapping[str, Any], where: str) -> tuple[WellbeingArea, ...]:
    names = _texts(table, "areas", where, required=True)
    try:
        return tuple(WellbeingArea(name) for name in names)
    except ValueError:
        known = ", ".join(a.value for a in WellbeingArea)
        raise _fail(
            where, "areas", f"unknown wellbeing area in {list(names)} (known: {known})"
        ) from None


def _item(table: Any, where: str) -> CatalogueItem:
    if not isinstance(table, dict):
        raise CatalogueError(f"{where}: must be a table")
    _check_keys(table, _ITEM_KEYS, where)
    item_id = _text(table, "id", where, required=True)
    where = f"{where} ({item_id})"
    if not all(c.isalnum() or c in "_-" for c in item_id) or len(item_id.encode()) > 40:
        raise _fail(where, "id", "use letters, digits, '_' or '-', at most 40 bytes")
    kind_name = _text(table, "kind", where, required=True)
    try:
        kind = ItemKind(kind_name)
    except ValueError:
        known = ", ".join(k.value for k in ItemKind)
        raise _fail(where, "kind", f"unknown kind {kind_name!r} (known: {known})") from None
    pence = table["cost_pence"]
    if isinstance(pence, bool) or not isinstance(pence, int) or pence < 0:
        raise _fail(where, "cost_pence", f"must be whole pence, zero or more, got {pence!r}")
    frequency_name = _text(table, "frequency", where, required=True)
    try:
        frequency = Frequency(frequency_name)
    except ValueError:
        known = ", ".join(f.value for f in Frequency)
        raise _fail(
            where, "frequency", f"unknown frequency {frequency_name!r} (known: {known})"
        ) from None
    raw_sessions = table.get("sessions_per_week", 1)
    try:
        if isinstance(raw_sessions, bool) or not isinstance(raw_sessions, int | float | str):
            raise InvalidOperation
        # str() first: a TOML float such as 0.5 must not carry binary noise into Decimal.
        sessions = Decimal(str(raw_sessions))
        cost = Cost(pence, frequency, sessions)
    except (InvalidOperation, ValueError):
        raise _fail(
            where, "sessions_per_week", f"must be a number above 0, got {raw_sessions!r}"
        ) from None
    tags = _texts(table, "tags", where, required=True)
    return CatalogueItem(
        id=item_id,
        name=_text(table, "name", where, required=True),
        name_cy=_text(table, "name_cy", where, required=True),
        description=_text(table, "description", where, required=True),
        kind=kind,
        areas=_areas(table, where),
        tags=tags,
        synonyms=_texts(table, "synonyms", where, required=False),
        cost=cost,
        alternative_to=_texts(table, "alternative_to", where, required=False),
        eligibility=_text(table, "eligibility", where, required=False),
        description_cy=_text(table, "description_cy", where, required=False),
    )


def _concept(table: Any, where: str) -> Concept:
    if not isinstance(table, dict):
        raise CatalogueError(f"{where}: must be a table")
    _check_keys(table, _CONCEPT_KEYS, where)
    concept_id = _text(table, "id", where, required=True)
    where = f"{where} ({concept_id})"
    formal = _text(table, "formal_service", where, required=False)
    modifier = table.get("modifier", False)
    if not isinstance(modifier, bool):
        raise _fail(where, "modifier", f"must be true or false, got {modifier!r}")
    return Concept(
        id=concept_id,
        label=_text(table, "label", where, required=True),
        areas=_areas(table, where),
        tags=_texts(table, "tags", where, required=True),
        phrases=_texts(table, "phrases", where, required=True),
        formal_service=formal or None,
        modifier=modifier,
    )


def _read(path: Path | None, default: str) -> tuple[dict[str, Any], str]:
    try:
        if path is None:
            source = f"dialogs/ideas/data/{default}"
            raw = resources.files("dialogs.ideas").joinpath("data", default).read_text("utf-8")
        else:
            source = str(path)
            raw = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogueError(f"{path}: cannot be read: {error.strerror or error}") from error
    try:
        return tomllib.loads(raw), source
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{source}: not valid TOML: {error}") from error


def parse_catalogue(
    data: Mapping[str, Any], concepts_data: Mapping[str, Any], *, source: str, concepts_source: str
) -> Catalogue:
    """Validate already-parsed TOML tables into a Catalogue (raises CatalogueError)."""
    for key in data:
        if key not in ("item", "concept", "council", "version"):
            raise CatalogueError(f"{source}: key '{key}': unknown top-level key")
    raw_items = data.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        raise CatalogueError(f"{source}: key 'item': needs at least one [[item]] table")
    items = [_item(table, f"{source}: item {n}") for n, table in enumerate(raw_items, 1)]
    seen: set[str] = set()
    for n, item in enumerate(items, 1):
        if item.id in seen:
            raise CatalogueError(f"{source}: item {n} ({item.id}): key 'id': duplicate id")
        seen.add(item.id)
    concepts = [
        _concept(table, f"{concepts_source}: concept {n}")
        for n, table in enumerate(concepts_data.get("concept", []), 1)
    ]
    # A council file may add its own concepts after the shipped ones.
    concepts += [
        _concept(table, f"{source}: concept {n}")
        for n, table in enumerate(data.get("concept", []), 1)
    ]
    return Catalogue(tuple(items), tuple(concepts), source=source)


def load_catalogue(path: Path | None = None, *, concepts_path: Path | None = None) -> Catalogue:
    """Load a council's catalogue (None: the shipped default) with the goal concepts.

    Raises CatalogueError naming the file, the item and key, and the problem.
    """
    data, source = _read(path, "catalogue.toml")
    concepts_data, concepts_source = _read(concepts_path, "concepts.toml")
    return parse_catalogue(data, concepts_data, source=source, concepts_source=concepts_source)
