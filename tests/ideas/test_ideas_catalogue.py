"""The catalogue file format: validation errors, and the shipped catalogue's coverage."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dialogs.ideas import Catalogue, CatalogueError, ItemKind, load_catalogue
from formula.wellbeing import WellbeingArea

GOOD_ITEM = """
[[item]]
id = "choir"
name = "Choir"
name_cy = "Côr"
description = "Sing with others."
kind = "community_activity"
areas = ["participation"]
tags = ["music"]
cost_pence = 400
frequency = "per_session"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalogue.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_minimal_catalogue_loads(tmp_path: Path) -> None:
    catalogue = load_catalogue(write(tmp_path, GOOD_ITEM))
    item = catalogue.get("choir")
    assert item is not None
    assert item.name_cy == "Côr"
    assert item.annual_pence == 400 * 52
    assert catalogue.get("nothing") is None


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (("cost_pence = 400", "cost_pence = -1"), "cost_pence", "whole pence"),
        (("cost_pence = 400", "cost_pence = 4.5"), "cost_pence", "whole pence"),
        (('areas = ["participation"]', 'areas = ["fun"]'), "areas", "unknown wellbeing area"),
        (('kind = "community_activity"', 'kind = "party"'), "kind", "unknown kind"),
        (('frequency = "per_session"', 'frequency = "daily"'), "frequency", "unknown frequency"),
        (('name_cy = "Côr"\n', ""), "name_cy", "is missing"),
        (('name = "Choir"', 'name = "  "'), "name", "must not be empty"),
        (('tags = ["music"]', "tags = []"), "tags", "at least one"),
        (('tags = ["music"]', 'tags = ["music"]\ncolour = "red"'), "colour", "unknown key"),
        (('id = "choir"', 'id = "a choir!"'), "id", "letters, digits"),
        (
            ('frequency = "per_session"', 'frequency = "per_session"\nsessions_per_week = 0'),
            "sessions_per_week",
            "above 0",
        ),
    ],
)
def test_errors_name_the_file_item_key_and_problem(
    tmp_path: Path, change: tuple[str, str], key: str, problem: str
) -> None:
    old, new = change
    assert old in GOOD_ITEM
    path = write(tmp_path, GOOD_ITEM.replace(old, new))
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    message = str(caught.value)
    assert str(path) in message
    assert "item 1" in message
    assert f"'{key}'" in message
    assert problem in message


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="item 2 \\(choir\\): key 'id': duplicate"):
        load_catalogue(write(tmp_path, GOOD_ITEM + GOOD_ITEM))


def test_bad_toml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="not valid TOML"):
        load_catalogue(write(tmp_path, "[[item]\nid ="))
    with pytest.raises(CatalogueError, match="cannot be read"):
        load_catalogue(tmp_path / "missing.toml")
    with pytest.raises(CatalogueError, match="needs at least one"):
        load_catalogue(write(tmp_path, 'council = "x"\n'))


def test_a_council_file_can_add_its_own_concepts(tmp_path: Path) -> None:
    extra = '\n[[concept]]\nid = "karaoke"\nlabel = "karaoke"\nareas = ["participation"]\n'
    extra += 'tags = ["music"]\nphrases = ["karaoke"]\n'
    catalogue = load_catalogue(write(tmp_path, GOOD_ITEM + extra))
    assert catalogue.concept("karaoke") is not None


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return load_catalogue()


def test_shipped_catalogue_has_at_least_80_items_in_all_nine_areas(shipped: Catalogue) -> None:
    assert len(shipped) >= 80
    covered = {area for item in shipped for area in item.areas}
    assert covered == set(WellbeingArea)
    # Each area is the main area of several items, not just a side mention.
    for area in WellbeingArea:
        assert sum(item.areas[0] is area for item in shipped) >= 3, area


def test_every_shipped_item_is_priced_named_in_welsh_and_described(shipped: Catalogue) -> None:
    for item in shipped:
        assert item.cost.unit_pence >= 0, item.id
        assert item.annual_pence >= item.weekly_pence, item.id
        assert item.name_cy.strip(), item.id
        assert item.name_cy != item.name, item.id
        assert item.description.endswith("."), item.id
        assert item.eligibility, item.id
        assert item.tags, item.id


def test_shipped_catalogue_has_the_mission_examples(shipped: Catalogue) -> None:
    for item_id in [
        "gardening_club",
        "art_course",
        "peer_support_group",
        "walking_group",
        "mindfulness_course",
        "home_nurse",
        "end_of_life_at_home",
        "personal_assistant",
        "respite_break",
        "day_centre",
        "counselling",
        "grab_rails",
        "video_call_tablet",
    ]:
        assert shipped.get(item_id) is not None, item_id
    day_centre, gardening = shipped.get("day_centre"), shipped.get("gardening_club")
    assert day_centre is not None and day_centre.kind is ItemKind.FORMAL_SERVICE
    assert gardening is not None and "therapy" in gardening.alternative_to


def test_every_concept_tag_reaches_some_item(shipped: Catalogue) -> None:
    item_tags = {tag for item in shipped for tag in item.tags}
    for concept in shipped.concepts:
        assert set(concept.tags) & item_tags, concept.id


def test_every_formal_service_has_at_least_two_alternatives(shipped: Catalogue) -> None:
    formal = {c.formal_service for c in shipped.concepts if c.formal_service}
    for service in formal - {"nursing"}:
        assert sum(service in item.alternative_to for item in shipped) >= 2, service


def test_loading_is_quick() -> None:
    start = time.perf_counter()
    load_catalogue()
    assert time.perf_counter() - start < 2.0
