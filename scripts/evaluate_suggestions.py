"""Evaluate goal understanding and suggestions against tests/ideas/goals_eval.toml.

Usage: .venv/bin/python scripts/evaluate_suggestions.py [--eval FILE] [--verbose]

Measures, over the N goals of the evaluation set, with the shipped catalogue:

* precision@3: for each goal, take the top 3 suggestions of `suggest(goal, limit=3)`;
  precision = (number of those in the goal's `acceptable` ids) / 3. A goal with fewer than 3
  suggestions still divides by 3 (a missing suggestion counts as a miss). The figure is the
  mean over all goals.
* area accuracy: the share of goals whose top-ranked wellbeing area from
  `understand_goal(goal).areas[0]` is one of the goal's expected `areas`. A goal with no
  area understood counts as wrong.
* ceiling: the best precision@3 any ranking could reach on this set (a goal with fewer than 3
  acceptable ids cannot score 1), printed so the figure can be read against it.

Prints both figures and, with --verbose, every goal with its misses.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from dialogs.ideas import Catalogue, load_catalogue, suggest, understand_goal

DEFAULT_EVAL = Path(__file__).resolve().parent.parent / "tests" / "ideas" / "goals_eval.toml"
TOP_K = 3


@dataclass(frozen=True)
class GoalResult:
    text: str
    precision: float
    area_correct: bool
    suggested: tuple[str, ...]
    top_area: str | None
    acceptable_count: int


@dataclass(frozen=True)
class Evaluation:
    results: tuple[GoalResult, ...]

    @property
    def precision_at_3(self) -> float:
        return sum(r.precision for r in self.results) / len(self.results)

    @property
    def ceiling(self) -> float:
        best = (min(TOP_K, r.acceptable_count) / TOP_K for r in self.results)
        return sum(best) / len(self.results)

    @property
    def area_accuracy(self) -> float:
        return sum(r.area_correct for r in self.results) / len(self.results)


def evaluate(catalogue: Catalogue, eval_path: Path = DEFAULT_EVAL) -> Evaluation:
    """Run every goal of the evaluation file and score it (see the module docstring)."""
    goals = tomllib.loads(eval_path.read_text(encoding="utf-8"))["goal"]
    results = []
    for goal in goals:
        acceptable = set(goal["acceptable"])
        unknown = acceptable - {item.id for item in catalogue}
        if unknown:
            raise ValueError(f"{eval_path}: goal {goal['text']!r}: unknown ids {sorted(unknown)}")
        top = suggest(goal["text"], catalogue, limit=TOP_K).items
        ids = tuple(s.item.id for s in top)
        areas = understand_goal(goal["text"], catalogue).areas
        top_area = areas[0].value if areas else None
        results.append(
            GoalResult(
                text=goal["text"],
                precision=sum(i in acceptable for i in ids) / TOP_K,
                area_correct=top_area in goal["areas"],
                suggested=ids,
                top_area=top_area,
                acceptable_count=len(acceptable),
            )
        )
    return Evaluation(tuple(results))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    result = evaluate(load_catalogue(), args.eval)
    if args.verbose:
        for r in result.results:
            if r.precision < 1 or not r.area_correct:
                mark = "" if r.area_correct else f"  AREA={r.top_area}"
                print(f"{r.precision:.2f} {r.text!r} -> {list(r.suggested)}{mark}")
    print(f"goals: {len(result.results)}")
    print(f"precision@3: {result.precision_at_3:.3f} (ceiling {result.ceiling:.3f})")
    print(f"area accuracy: {result.area_accuracy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
