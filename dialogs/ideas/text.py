"""Word matching for ideas: tokens, light lemmatising, typo correction and phrase lookup.

A `PhraseIndex` is built once from the phrases of a catalogue or a rule set. Matching a text
is then a handful of dict lookups per word, so it stays cheap however large the catalogue is.
Words are matched whole ("wine" does not match "swine"), plurals and -ing/-ed forms are
folded onto words the index knows, and an unknown word of five letters or more is corrected
to a known word that starts with the same letter when it is one typing slip away (two in
long words).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)*")
_APOSTROPHES = re.compile(r"['’]")
_CLITICS = frozenset({"ll", "d", "re", "ve", "m", "s"})

# Spellings folded before matching, so phrases need only one form.
_FOLDS: dict[str, str] = {
    "cannot": "cant",
    "noone": "nobody",
    "mom": "mum",
    "mam": "mum",
    "mommy": "mum",
    "mummy": "mum",
    "ur": "your",
    "wanna": "want",
    "gonna": "going",
    "coz": "because",
    "cuz": "because",
}

# Small words that carry no meaning for matching. Negations ("no", "not", "cant", "nobody")
# are deliberately NOT here: "no one to talk to" must keep its "no".
_STOPWORD_TEXT = """
    a an the and or but if so to of in on at by for with from into onto up as is am are was
    were be been being i im ive id me my mine myself we us our you your he him his she her
    hers they them their it its this that these those there here what which who whom whose
    when where why how do does did doing done have has had having get gets got getting go
    goes going went just really very quite bit lot lots much more most some any all also too
    than then about would could should will shall can may might must like want wants wanted
    need needs needed feel feels feeling felt think thought know dont didnt doesnt wont isnt
    arent wasnt please thanks ok okay yeah yes one s t d ll m re ve
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())
# Kept even though common: they change meaning.
_KEEP = frozenset({"no", "not", "never", "nobody", "cant", "alone", "one"})
_STOP = STOPWORDS - _KEEP


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the text as written, with its place in the original string."""

    word: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """A phrase found in a text: which key it belongs to and the words quoted from the text."""

    key: str
    phrase: str
    quote: str
    start: int
    end: int


def tokens(text: str) -> list[Token]:
    """Lower-cased words of `text` with their positions; apostrophes are dropped ("can't")."""
    out: list[Token] = []
    for m in _WORD.finditer(text.lower()):
        head, _, tail = _APOSTROPHES.sub("'", m.group()).partition("'")
        # "she'll" -> "she", "mum's" -> "mum", but "can't" -> "cant" and "won't" -> "wont".
        word = head if tail in _CLITICS else head + tail.replace("'", "")
        out.append(Token(_FOLDS.get(word, word), m.start(), m.end()))
    return out


def meaningful_words(text: str) -> list[str]:
    """The words of `text` that carry meaning for matching (filler such as "at" dropped)."""
    return [t.word for t in tokens(text) if t.word not in _STOP]


def _variants(word: str) -> list[str]:
    """The word and forms of it with common English endings taken off, most likely first."""
    out = [word]
    n = len(word)
    if n > 4 and word.endswith("iness"):
        out.append(word[:-5] + "y")
    if n > 5 and word.endswith("ness"):
        out.append(word[:-4])
    if n > 4 and word.endswith("ies"):
        out.append(word[:-3] + "y")
    if n > 5 and word.endswith("ing"):
        stem = word[:-3]
        out.extend((stem, stem + "e"))
        if len(stem) > 2 and stem[-1] == stem[-2]:
            out.append(stem[:-1])
    if n > 4 and word.endswith("ed"):
        stem = word[:-2]
        out.extend((stem, stem + "e"))
        if len(stem) > 2 and stem[-1] == stem[-2]:
            out.append(stem[:-1])
    if n > 4 and word.endswith("ly"):
        out.append(word[:-2])
    if n > 3 and word.endswith("es"):
        out.append(word[:-2])
    if n > 3 and word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])
    return out


def _max_slips(word: str) -> int:
    # One slip (a missing, extra, wrong or swapped letter) is the usual typo; two only in long
    # words, where two slips rarely turn one real word into another.
    return 2 if len(word) >= 10 else 1


class PhraseIndex:
    """Phrases (under keys) indexed for whole-word, typo-tolerant, in-order matching."""

    def __init__(
        self,
        phrases: Iterable[tuple[str, str]],
        *,
        extra: Iterable[tuple[str, str]] = (),
        strict: bool = False,
    ) -> None:
        """Index `(key, phrase)` pairs; `extra` phrases only widen the known vocabulary.

        `strict` corrects only the closest typos (for rules, where a false hit refuses an idea).
        """
        self._strict = strict
        pairs = list(phrases)
        literal: set[str] = set()
        for _key, phrase in extra:
            literal.update(t.word for t in tokens(phrase) if t.word not in _STOP)
        split: list[tuple[str, str, tuple[str, ...], bool]] = []
        for key, phrase in pairs:
            every = tuple(t.word for t in tokens(phrase))
            words = tuple(w for w in every if w not in _STOP)
            if not words:
                continue
            # "get out" or "hurt me" must not shrink to one loose word: match them word for word.
            exact = len(words) == 1 and len(every) > 1
            literal.update(every if exact else words)
            split.append((key, phrase, every if exact else words, exact))
        # Each known word maps to the shortest known form of itself ("gardening" -> "garden").
        self._canon: dict[str, str] = {}
        for word in sorted(literal, key=len):
            self._canon[word] = next((v for v in _variants(word) if v in self._canon), word)
        self._by_letter: dict[str, list[str]] = defaultdict(list)
        for word in literal:
            if len(word) >= 5 and word not in STOPWORDS:
                self._by_letter[word[0]].append(word)
        self._first: dict[str, list[tuple[str, str, tuple[str, ...]]]] = defaultdict(list)
        self._exact_first: dict[str, list[tuple[str, str, tuple[str, ...]]]] = defaultdict(list)
        seen: set[tuple[str, tuple[str, ...], bool]] = set()
        for key, phrase, words, exact in split:
            canon = tuple(self._canon[w] for w in words)
            if (key, canon, exact) in seen:
                continue
            seen.add((key, canon, exact))
            (self._exact_first if exact else self._first)[canon[0]].append((key, phrase, canon))
        self._cache: dict[str, str | None] = {}

    @property
    def vocabulary(self) -> frozenset[str]:
        return frozenset(self._canon)

    def canonical(self, word: str) -> str | None:
        """The known word `word` stands for (after endings and typos), or None."""
        cached = self._cache.get(word, "")
        if cached != "":
            return cached
        found: str | None = None
        for variant in _variants(word):
            if variant in self._canon:
                found = self._canon[variant]
                break
        if found is None and len(word) >= 5 and word not in STOPWORDS:
            candidates = self._by_letter.get(word[0], [])
            # Strict (rules): only a missing or extra letter, since a wrong letter can make
            # another word ("drums" -> "drugs") and a false hit would refuse an idea.
            scorer = Indel.distance if self._strict else OSA.distance
            limit = 1 if self._strict else _max_slips(word)
            best = process.extractOne(word, candidates, scorer=scorer, score_cutoff=limit)
            if best is not None:
                found = self._canon[best[0]]
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[word] = found
        return found

    def content(self, text: str) -> list[tuple[str | None, Token]]:
        """Every word of the text with the known word it stands for (None: unknown or filler)."""
        return [
            (self.canonical(t.word) if t.word not in _STOP else self._canon.get(t.word), t)
            for t in tokens(text)
        ]

    def find(
        self, text: str, *, content: Sequence[tuple[str | None, Token]] | None = None
    ) -> list[PhraseHit]:
        """Every phrase found in `text`.

        A phrase's meaningful words must appear in order, with at most one other meaningful
        word between them (filler words are ignored). A phrase that is one meaningful word
        plus filler ("get out") must appear word for word. Where one hit lies inside a longer
        one, only the longer is kept.
        """
        every = list(content) if content is not None else self.content(text)
        words = [(c, t) for c, t in every if t.word not in _STOP]
        hits: list[PhraseHit] = []
        for sequence, index, gap in ((words, self._first, 2), (every, self._exact_first, 1)):
            for i, (canon, first) in enumerate(sequence):
                if canon is None:
                    continue
                for key, phrase, target in index.get(canon, ()):
                    end = self._match_from(sequence, i, target, gap)
                    if end is None:
                        continue
                    last = sequence[end][1]
                    quote = text[first.start : last.end]
                    hits.append(PhraseHit(key, phrase, quote, first.start, last.end))
        return _drop_shadowed(hits)

    @staticmethod
    def _match_from(
        words: Sequence[tuple[str | None, Token]], start: int, target: tuple[str, ...], gap: int
    ) -> int | None:
        position = start
        for wanted in target[1:]:
            for step in range(1, gap + 1):
                nxt = position + step
                if nxt < len(words) and words[nxt][0] == wanted:
                    position = nxt
                    break
            else:
                return None
        return position


def _drop_shadowed(hits: list[PhraseHit]) -> list[PhraseHit]:
    """Drop a hit whose span lies inside a longer hit ("struggle" inside "struggle to talk")."""
    return [
        hit
        for hit in hits
        if not any(
            other.start <= hit.start
            and hit.end <= other.end
            and (other.end - other.start) > (hit.end - hit.start)
            for other in hits
        )
    ]
