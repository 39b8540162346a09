"""The errors formula/ raises on bad input. All are ValueErrors; none is raised for valid input."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class FormulaError(ValueError):
    """Base of every documented error raised by formula/ for bad rules or answers."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rules file: which file, which key, what is wrong."""

    source: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.message}"


class RulesError(FormulaError):
    """A rules file is missing, not TOML, or breaks the format in docs/rules-format.md."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))


class AnswersError(FormulaError):
    """Answers name unknown questions or options, leave required questions out, or are malformed."""

    def __init__(self, problems: Sequence[str], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        text = "; ".join(self.problems)
        super().__init__(f"{source}: {text}" if source else text)


class SchemeNotFoundError(FormulaError):
    """No shipped scheme has the id asked for."""
