"""Money formatting and parsing: whole pence in, whole pence out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from formula.money import format_pounds, parse_pounds


@pytest.mark.parametrize(
    ("pence", "text"),
    [
        (123456, "£1,234.56"),
        (500, "£5.00"),
        (-500, "-£5.00"),
        (0, "£0.00"),
        (5, "£0.05"),
        (-5, "-£0.05"),
        (100000000, "£1,000,000.00"),
        (99, "£0.99"),
    ],
)
def test_format_pounds(pence: int, text: str) -> None:
    assert format_pounds(pence) == text


@pytest.mark.parametrize(
    ("text", "pence"),
    [
        ("8", 800),
        ("8.50", 850),
        ("8.5", 850),
        ("£8.50", 850),
        ("1,200", 120000),
        ("£1,234.56", 123456),
        ("  12.05 ", 1205),
        ("0", 0),
        ("0.01", 1),
        ("£ 3", 300),
    ],
)
def test_parse_pounds(text: str, pence: int) -> None:
    assert parse_pounds(text) == pence


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("£", "empty"),
        ("abc", "not a number"),
        ("8.505", "more than two decimal places"),
        ("-5", "negative"),
        ("-£5.00", "negative"),
        ("£-5", "negative"),
        ("1,20", "not a number"),
        ("12,34.5", "not a number"),
        ("8.", "ends with a point"),
        ("1e3", "not a number"),
        ("NaN", "not a number"),
        ("8.50p", "not a number"),
    ],
)
def test_parse_pounds_rejects_bad_text_with_a_clear_message(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_pounds(text)


@given(st.integers(min_value=0, max_value=10**12))
def test_parse_reads_back_what_format_writes(pence: int) -> None:
    assert parse_pounds(format_pounds(pence)) == pence


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_format_has_two_decimals_and_the_sign_first(pence: int) -> None:
    text = format_pounds(pence)
    assert text.startswith("-£" if pence < 0 else "£")
    assert text[-3] == "." and text[-2:].isdigit()
