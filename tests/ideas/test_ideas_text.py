"""Word matching: whole words, folded endings, typos, filler words and phrase order."""

from __future__ import annotations

import pytest

from dialogs.ideas.text import PhraseIndex, tokens

INDEX = PhraseIndex(
    [
        ("lonely", "no one to talk to"),
        ("lonely", "lonely"),
        ("garden", "gardening"),
        ("garden", "garden"),
        ("out", "get out"),
        ("anxiety", "anxious"),
        ("wine", "wine"),
    ]
)


def keys(text: str) -> list[str]:
    return [hit.key for hit in INDEX.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I have no one I can talk to", ["lonely"]),
        ("No-one to talk to", ["lonely"]),
        ("so lonley", ["lonely"]),  # a typo
        ("my gardens", ["garden"]),  # a plural folded onto a known word
        ("I love gardening", ["garden"]),
        ("I want to get out", ["out"]),
        ("out of breath", []),  # "get out" is one word plus filler: word for word only
        ("always anxous", ["anxiety"]),
        ("swine flu", []),  # whole words only
        ("talk to no one", []),  # order matters
    ],
)
def test_phrases_are_found(text: str, expected: list[str]) -> None:
    assert keys(text) == expected


def test_quotes_are_taken_from_the_original_text() -> None:
    (hit,) = INDEX.find("Honestly, NO ONE to talk to!")
    assert hit.quote == "NO ONE to talk"


def test_apostrophes_are_dropped_but_positions_kept() -> None:
    (word,) = tokens("can't")
    assert (word.word, word.start, word.end) == ("cant", 0, 5)


def test_short_words_are_not_corrected_to_different_words() -> None:
    index = PhraseIndex([("walk", "walk")])
    assert index.find("talk") == []
