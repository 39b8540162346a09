"""The shipped schemes: enough questions, all nine wellbeing areas, plain words, real Welsh."""

from __future__ import annotations

import pytest

from formula import list_schemes, load_shipped_scheme
from formula.rules import AllocationMethod
from formula.wellbeing import WellbeingArea

SHIPPED = ["adult-2026", "children-2026"]


def test_list_schemes() -> None:
    infos = list_schemes()
    assert [info.id for info in infos] == SHIPPED
    methods = {info.id: info.method for info in infos}
    assert methods["adult-2026"] is AllocationMethod.PRICE_PER_POINT
    assert methods["children-2026"] in {AllocationMethod.BANDS, AllocationMethod.BANDS_THEN_RATE}
    assert all(info.question_count >= 10 for info in infos)


@pytest.mark.parametrize("scheme_id", SHIPPED)
def test_questionnaire_covers_the_nine_wellbeing_areas(scheme_id: str) -> None:
    scheme = load_shipped_scheme(scheme_id)
    assert len(scheme.questions) >= 10
    assert scheme.wellbeing_areas == set(WellbeingArea)


@pytest.mark.parametrize("scheme_id", SHIPPED)
def test_every_text_has_a_welsh_version(scheme_id: str) -> None:
    scheme = load_shipped_scheme(scheme_id)
    assert scheme.name_cy
    for question in scheme.questions:
        assert question.text.endswith("?")
        assert question.text_cy and question.text_cy.endswith("?")
        assert question.topic_cy
        assert question.text_cy != question.text
        # Welsh questions of this kind start with these words, not an English placeholder.
        assert question.text_cy.split()[0] in {"Faint", "Oes", "Pa"}, question.text_cy
        for option in question.options:
            assert option.label_cy and option.label_cy != option.label
    for band in scheme.bands:
        assert band.name_cy


def test_children_bands_follow_the_published_table() -> None:
    scheme = load_shipped_scheme("children-2026")
    table = [(b.from_points, b.to_points, b.annual_pence) for b in scheme.bands]
    assert table == [
        (0, 69, 0),
        (70, 115, 50000),
        (116, 130, 100000),
        (131, 145, 150000),
        (146, 160, 280000),
        (161, 170, 400000),
        (171, 185, 600000),
    ]


@pytest.mark.parametrize("scheme_id", SHIPPED)
def test_ids_fit_telegram_callback_data(scheme_id: str) -> None:
    # callback_data is at most 64 bytes: scheme, question and option ids must fit together.
    scheme = load_shipped_scheme(scheme_id)
    for question in scheme.questions:
        for option in question.options:
            assert len(f"{scheme.id}:{question.id}:{option.id}".encode()) <= 64
