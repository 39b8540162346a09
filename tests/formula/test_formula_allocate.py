"""allocate() on the shipped schemes and on small inline schemes, table-driven.

Every expected figure is worked by hand in the comments from the scheme's published numbers:
adult-2026: £150 a point, 2.5% contingency, floor £520, cap £18,000, "Keeping safe" questions
count 125%, carer element £1,040; children-2026: the band table in DOMAIN.md, £50 a point
above 185, cap £7,000. Weekly = annual / 52, rounded half up.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from formula import Answers, LineKind, Scheme, allocate, load_shipped_scheme, parse_scheme_text

ADULT_NONE = {
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


def adult(changes: Mapping[str, str], contribution: int = 0) -> Answers:
    return Answers({**ADULT_NONE, **changes}, contribution_weekly_pence=contribution)


ADULT_MAX = {
    "washing": "every_time",
    "toilet": "every_time",
    "meals": "every_time",
    "health": "every_time",
    "keeping_safe": "every_time",
    "home_safety": "every_time",
    "housework": "every_time",
    "choices": "every_time",
    "activities": "every_time",
    "out_and_about": "every_time",
    "family_friends": "every_time",
    "helping_others": "every_time",
    "unpaid_carer": "most_days",
}


@pytest.mark.parametrize(
    ("answers", "points", "budget", "contribution", "result", "result_weekly"),
    [
        # Nothing scores: £0 is raised to the floor of £520; £520 / 52 = £10.00 a week.
        (adult({}), 0, 52000, 0, 52000, 1000),
        # 8 + 4 = 12 points x £150 = £1,800; + 2.5% = £45 -> £1,845; 1845 / 52 = 35.48
        (adult({"washing": "most_days", "toilet": "a_little"}), 12, 184500, 0, 184500, 3548),
        # Keeping safe 4 x 125% = 5 points: £750 + £18.75 = £768.75; 76875 / 52 = 1478.37
        (adult({"keeping_safe": "a_little"}), 5, 76875, 0, 76875, 1478),
        # Safety (4 + 3) x 125% = 8.75 -> 9 points: £1,350 + £33.75 = £1,383.75
        (
            adult({"keeping_safe": "a_little", "home_safety": "a_little"}),
            9,
            138375,
            0,
            138375,
            2661,  # 138375 / 52 = 2661.06
        ),
        # Safety (12 + 10) x 125% = 27.5 -> 28 points (half up): £4,200 + £105 = £4,305,
        # + carer element £1,040 = £5,345; contribution £20 x 52 = £1,040 -> £4,305;
        # 430500 / 52 = 8278.85 -> £82.79
        (
            adult(
                {
                    "keeping_safe": "every_time",
                    "home_safety": "every_time",
                    "unpaid_carer": "most_days",
                },
                contribution=2000,
            ),
            28,
            534500,
            104000,
            430500,
            8279,
        ),
        # Everything at most: raw 113, safety 22 -> 28 so 119 points: £17,850 + £446.25
        # + £1,040 = £19,336.25, over the cap -> £18,000; contribution £25 x 52 = £1,300;
        # 1,670,000 / 52 = 32115.38
        (Answers(ADULT_MAX, contribution_weekly_pence=2500), 119, 1800000, 130000, 1670000, 32115),
        # A contribution larger than the budget stops at the budget: the council pays £0.
        (adult({}, contribution=100000), 0, 52000, 52000, 0, 0),
    ],
)
def test_adult_scheme(
    answers: Answers,
    points: int,
    budget: int,
    contribution: int,
    result: int,
    result_weekly: int,
) -> None:
    allocation = allocate(answers, load_shipped_scheme("adult-2026"))
    assert allocation.points == points
    assert allocation.band is None
    assert allocation.personal_budget_annual_pence == budget
    assert allocation.contribution_annual_pence == contribution
    assert allocation.annual_pence == result
    assert allocation.weekly_pence == result_weekly


CHILD_QUESTIONS = [
    "washing",
    "toilet",
    "eating",
    "health",
    "staying_safe",
    "choices",
    "school",
    "play",
    "family_friends",
    "home",
    "helping",
]
# Points 0 / 6 / 13 / 20 -> option ids (the home question words them differently).
CHILD_OPTIONS = {0: "same", 6: "a_bit_more", 13: "a_lot_more", 20: "all_the_time"}
HOME_OPTIONS = {0: "suits_well", 6: "small_changes", 13: "big_changes", 20: "not_safe"}


def child(*points: int) -> Answers:
    """Answers scoring these points on the questions in order; the rest score 0."""
    padded = list(points) + [0] * (len(CHILD_QUESTIONS) - len(points))
    return Answers(
        {
            question: (HOME_OPTIONS if question == "home" else CHILD_OPTIONS)[score]
            for question, score in zip(CHILD_QUESTIONS, padded, strict=True)
        }
    )


@pytest.mark.parametrize(
    ("answers", "points", "band", "annual", "weekly"),
    [
        (child(), 0, "none", 0, 0),
        # 13 x 3 + 6 x 5 = 69: the top of "no budget"
        (child(13, 13, 13, 6, 6, 6, 6, 6), 69, "none", 0, 0),
        # 20 + 13 x 2 + 6 x 4 = 70: the bottom of 70-115, £500; 50000 / 52 = 961.5 -> 962
        (child(20, 13, 13, 6, 6, 6, 6), 70, "small", 50000, 962),
        # 20 x 5 + 6 x 5 = 130: the top of 116-130, £1,000; 100000 / 52 = 1923.08
        (child(20, 20, 20, 20, 20, 6, 6, 6, 6, 6), 130, "some", 100000, 1923),
        # 20 x 4 + 13 x 3 + 6 x 2 = 131: the bottom of 131-145, £1,500
        (child(20, 20, 20, 20, 13, 13, 13, 6, 6), 131, "more", 150000, 2885),
        # 20 x 8 + 13 + 6 x 2 = 185: the top band 171-185, £6,000
        (child(20, 20, 20, 20, 20, 20, 20, 20, 13, 6, 6), 185, "exceptional", 600000, 11538),
        # 20 x 9 + 6 = 186: £6,000 + 1 point x £50 = £6,050; 605000 / 52 = 11634.6
        (child(20, 20, 20, 20, 20, 20, 20, 20, 20, 6), 186, "exceptional", 605000, 11635),
        # 20 x 10 = 200: £6,000 + 15 x £50 = £6,750
        (child(20, 20, 20, 20, 20, 20, 20, 20, 20, 20), 200, "exceptional", 675000, 12981),
        # 20 x 11 = 220: £6,000 + 35 x £50 = £7,750, over the cap -> £7,000
        (child(*[20] * 11), 220, "exceptional", 700000, 13462),
    ],
)
def test_children_scheme(
    answers: Answers, points: int, band: str, annual: int, weekly: int
) -> None:
    allocation = allocate(answers, load_shipped_scheme("children-2026"))
    assert allocation.points == points
    assert allocation.band is not None and allocation.band.id == band
    assert allocation.annual_pence == annual
    assert allocation.personal_budget_annual_pence == annual
    assert allocation.contribution_annual_pence == 0
    assert allocation.weekly_pence == weekly


def test_explanation_reads_in_order_for_the_band_example() -> None:
    # 20 x 5 + 6 x 5 = 130 points, in the band 116-130: £1,000 a year.
    allocation = allocate(
        child(20, 20, 20, 20, 20, 6, 6, 6, 6, 6), load_shipped_scheme("children-2026")
    )
    texts = [line.text for line in allocation.lines]
    assert texts[0] == "Washing and dressing: 20 points"
    assert "Helping others: not answered, 0 points" not in texts  # it was answered: 0 points
    assert "Total: 130 points" in texts
    assert "130 points is in the band 116-130 (some support): £1,000.00 a year" in texts
    assert texts[-1] == "The council pays: £1,000.00 a year (£19.23 a week)"
    kinds = [line.kind for line in allocation.lines]
    assert kinds.index(LineKind.POINTS_TOTAL) < kinds.index(LineKind.BAND)


def test_explanation_of_the_adult_example_line_by_line() -> None:
    allocation = allocate(
        adult(
            {
                "keeping_safe": "every_time",
                "home_safety": "every_time",
                "unpaid_carer": "most_days",
            },
            contribution=2000,
        ),
        load_shipped_scheme("adult-2026"),
    )
    money = [line for line in allocation.lines if line.amount_pence]
    assert [(line.kind, line.amount_pence) for line in money] == [
        (LineKind.PRICE_PER_POINT, 420000),  # 28 x £150
        (LineKind.CONTINGENCY, 10500),  # 2.5% of £4,200
        (LineKind.CARER_ELEMENT, 104000),
        (LineKind.CONTRIBUTION, -104000),  # £20 x 52
    ]
    texts = [line.text for line in allocation.lines]
    assert "Keeping safe answers count 125%: 22 points become 28 points (+6)" in texts
    assert "28 points x £150.00 a point: £4,200.00 a year" in texts
    assert "Minus your contribution of £1,040.00 a year (£20.00 a week x 52)" in texts
    assert "Helping other people: not answered, 0 points" in texts
    assert texts[-1] == "The council pays: £4,305.00 a year (£82.79 a week)"


def test_lines_are_structured_for_other_languages() -> None:
    allocation = allocate(adult({"washing": "most_days"}), load_shipped_scheme("adult-2026"))
    first = allocation.lines[0]
    assert (first.kind, first.key, first.points) == (LineKind.ANSWER, "washing", 8)
    assert first.values["option"] == "most_days"
    as_dict = allocation.as_dict()
    assert as_dict["lines"][0]["kind"] == "answer"
    assert as_dict["annual_pence"] == allocation.annual_pence


# A small inline scheme to reach the corners the shipped ones do not: open top band,
# weekly amounts in the file, a contingency that lands on half a penny, the floor.
INLINE = """
[scheme]
id = "inline"
name = "Inline"
version = "1"
currency = "GBP"

[period]
amounts = "{period}"
weeks_per_year = 52
rounding = "half_up"

[allocation]
method = "{method}"
{money}
floor_pence = {floor}
cap_pence = {cap}
contingency_percent = "{contingency}"
{bands}

[contribution]
means_tested = false

[[questions]]
id = "q1"
topic = "One"
text = "One?"
required = true
wellbeing_area = "control"
[[questions.options]]
id = "low"
label = "Low"
points = 0
[[questions.options]]
id = "mid"
label = "Mid"
points = 5
[[questions.options]]
id = "high"
label = "High"
points = 10

[[questions]]
id = "q2"
topic = "Two"
text = "Two?"
required = false
wellbeing_area = "health"
[[questions.options]]
id = "no"
label = "No"
points = 0
[[questions.options]]
id = "yes"
label = "Yes"
points = 1
"""

OPEN_BANDS = """
[[allocation.bands]]
id = "a"
name = "A"
from_points = 0
to_points = 4
amount_pence = 100
[[allocation.bands]]
id = "b"
name = "B"
from_points = 5
amount_pence = 1000
"""


def inline(
    *,
    method: str = "price_per_point",
    money: str = "price_per_point_pence = 1",
    period: str = "year",
    floor: int = 0,
    cap: int = 10**9,
    contingency: str = "0",
    bands: str = "",
) -> Scheme:
    text = INLINE.format(
        method=method,
        money=money,
        period=period,
        floor=floor,
        cap=cap,
        contingency=contingency,
        bands=bands,
    )
    return parse_scheme_text(text, source="inline.toml")


@pytest.mark.parametrize(
    ("scheme_kwargs", "choices", "annual"),
    [
        # 11 points x 1p = 11p; 50% contingency = 5.5p -> 6p (half up): 17p
        ({"contingency": "50"}, {"q1": "high", "q2": "yes"}, 17),
        # 1 point x 1p = 1p; 50% = 0.5p -> 1p: 2p
        ({"contingency": "50"}, {"q1": "low", "q2": "yes"}, 2),
        # 10 x 1p = 10p; 4.9% = 0.49p -> 0p
        ({"contingency": "4.9"}, {"q1": "high"}, 10),
        # Weekly amounts: £1 a point a week -> £52 a point a year; 5 points = £260
        ({"money": "price_per_point_pence = 100", "period": "week"}, {"q1": "mid"}, 26000),
        # Weekly floor £10 -> £520 a year
        ({"period": "week", "floor": 1000}, {"q1": "low"}, 52000),
        # Open top band: 10 points is in "5 and above"
        ({"method": "bands", "money": "", "bands": OPEN_BANDS}, {"q1": "high", "q2": "yes"}, 1000),
        ({"method": "bands", "money": "", "bands": OPEN_BANDS}, {"q1": "low", "q2": "yes"}, 100),
        # Bands then rate: top band ends at 4, 11 points = 7 above x 20p + 100p = 240p
        (
            {
                "method": "bands_then_rate",
                "money": "rate_above_top_band_pence = 20",
                "bands": OPEN_BANDS.replace(
                    "from_points = 5\n", "from_points = 5\nto_points = 5\n"
                ),
            },
            {"q1": "high", "q2": "yes"},
            1000 + 6 * 20,  # top band 5-5 gives 1000p, then 6 points above 5 x 20p
        ),
    ],
)
def test_inline_scheme_corners(
    scheme_kwargs: dict[str, object], choices: dict[str, str], annual: int
) -> None:
    scheme = inline(**scheme_kwargs)  # type: ignore[arg-type]
    allocation = allocate(Answers(choices), scheme)
    assert allocation.annual_pence == annual
    assert sum(line.amount_pence for line in allocation.lines) == annual


def test_open_top_band_text() -> None:
    scheme = inline(method="bands", money="", bands=OPEN_BANDS)
    allocation = allocate(Answers({"q1": "high"}), scheme)
    assert "10 points is in the band 5 and above (B): £10.00 a year" in [
        line.text for line in allocation.lines
    ]


def test_floor_line_says_how_much_was_added() -> None:
    scheme = inline(floor=500)
    allocation = allocate(Answers({"q1": "mid"}), scheme)  # 5p, raised to £5
    floor = [line for line in allocation.lines if line.kind is LineKind.FLOOR]
    assert [line.amount_pence for line in floor] == [495]
    assert floor[0].text == "Raised to the minimum budget of £5.00 a year: plus £4.95"
