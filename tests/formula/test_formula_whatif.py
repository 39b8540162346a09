"""What-if: the difference between two sets of answers and which explanation lines changed."""

from __future__ import annotations

from formula import Answers, LineKind, load_shipped_scheme, what_if

BASE = {
    "washing": "none",
    "toilet": "none",
    "meals": "none",
    "health": "none",
    "keeping_safe": "none",
    "home_safety": "none",
    "housework": "none",
    "choices": "none",
    "activities": "none",
    "out_and_about": "none",
    "family_friends": "none",
    "unpaid_carer": "no",
}


def test_one_more_answer_changes_its_line_and_the_money() -> None:
    scheme = load_shipped_scheme("adult-2026")
    before = Answers({**BASE, "washing": "a_little", "toilet": "a_little"}, 0)  # 8 points
    after = Answers({**BASE, "washing": "most_days", "toilet": "a_little"}, 0)  # 12 points
    comparison = what_if(before, after, scheme)
    # 8 x £150 = £1,200 + 2.5% £30 = £1,230; 12 x £150 = £1,800 + £45 = £1,845
    assert comparison.before.annual_pence == 123000
    assert comparison.after.annual_pence == 184500
    assert comparison.annual_difference_pence == 61500
    assert comparison.weekly_difference_pence == 1183  # 61500 / 52 = 1182.7
    assert comparison.points_difference == 4
    changed = {(change.kind, change.key) for change in comparison.changes}
    assert (LineKind.ANSWER, "washing") in changed
    assert (LineKind.ANSWER, "toilet") not in changed
    assert (LineKind.POINTS_TOTAL, "") in changed
    assert (LineKind.PRICE_PER_POINT, "") in changed
    assert (LineKind.CONTINGENCY, "") in changed
    assert (LineKind.RESULT, "") in changed
    washing = next(c for c in comparison.changes if c.key == "washing")
    assert washing.before is not None and washing.after is not None
    assert (washing.before.points, washing.after.points) == (4, 8)


def test_lines_that_appear_or_go_away() -> None:
    scheme = load_shipped_scheme("adult-2026")
    # 0 points: the floor applies. With a carer: £1,040, above the floor, no floor line.
    before = Answers(BASE, 0)
    after = Answers({**BASE, "unpaid_carer": "sometimes"}, 0)
    comparison = what_if(before, after, scheme)
    assert comparison.annual_difference_pence == 104000 - 52000
    gone = [c for c in comparison.changes if c.after is None]
    new = [c for c in comparison.changes if c.before is None]
    assert [c.kind for c in gone] == [LineKind.FLOOR]
    assert [c.kind for c in new] == [LineKind.CARER_ELEMENT]


def test_same_answers_change_nothing() -> None:
    scheme = load_shipped_scheme("children-2026")
    answers = Answers({q.id: q.options[1].id for q in scheme.questions})
    comparison = what_if(answers, answers, scheme)
    assert comparison.changes == ()
    assert comparison.annual_difference_pence == 0


def test_fewer_points_is_a_negative_difference() -> None:
    scheme = load_shipped_scheme("children-2026")
    high = Answers({q.id: q.options[3].id for q in scheme.questions})  # 220 -> cap £7,000
    low = Answers({q.id: q.options[0].id for q in scheme.questions})  # 0 -> £0
    comparison = what_if(high, low, scheme)
    assert comparison.annual_difference_pence == -700000
    assert comparison.weekly_difference_pence == -13462  # -700000 / 52 = -13461.5 -> -13462
    assert comparison.personal_budget_difference_pence == -700000
    band_change = next(c for c in comparison.changes if c.kind is LineKind.BAND)
    assert band_change.before is None or band_change.before.key == "exceptional"
