"""Budget maths for codesign-bot: the council's allocation formula and the pricing of choices.

Pure Python. Money is integer pence (or Decimal while calculating), never float.
Every weekly figure is its annual figure / 52, rounded half up to the penny.
"""

from formula.allocation import (
    Allocation,
    Answers,
    ExplanationLine,
    LineKind,
    allocate,
    check_answers,
    load_answers,
    parse_answers,
)
from formula.errors import AnswersError, FormulaError, Problem, RulesError, SchemeNotFoundError
from formula.rules import Scheme, load_scheme, parse_scheme, parse_scheme_text
from formula.schemes import SchemeInfo, list_schemes, load_shipped_scheme
from formula.whatif import Comparison, LineChange, compare, what_if

__all__ = [
    "Allocation",
    "Answers",
    "AnswersError",
    "Comparison",
    "ExplanationLine",
    "FormulaError",
    "LineChange",
    "LineKind",
    "Problem",
    "RulesError",
    "Scheme",
    "SchemeInfo",
    "SchemeNotFoundError",
    "allocate",
    "check_answers",
    "compare",
    "list_schemes",
    "load_answers",
    "load_scheme",
    "load_shipped_scheme",
    "parse_answers",
    "parse_scheme",
    "parse_scheme_text",
    "what_if",
]
