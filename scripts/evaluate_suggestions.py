"""Evaluate goal understanding and suggestions against tests/ideas/goals_eval.toml.

Usage: .venv/bin/python scripts/evaluate_suggestions.py [--eval FILE] [--verbose [SPLIT]]

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

Each goal belongs to a fixed half, `split = "tune"` or `"holdout"`. The figures are printed
for the whole set and for each half. While changing the matcher or its data, look only at
the failures of the tuning half (`--verbose`, which lists "tune" failures by default); the
held-out half tells whether a change generalises. `--verbose all` lists every failure.
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
SPLITS = ("tune", "holdout")


@dataclass(frozen=True)
class GoalResult:
    text: str
    precision: float
    area_correct: bool
    suggested: tuple[str, ...]
    top_area: str | None
    acceptable_count: int
    split: str = "tune"


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

    def split(self, name: str) -> Evaluation:
        """The same figures over one half of the set ("tune" or "holdout")."""
        part = tuple(r for r in self.results if r.split == name)
        if not part:
            raise ValueError(f"no goals in split {name!r}")
        return Evaluation(part)


def evaluate(catalogue: Catalogue, eval_path: Path = DEFAULT_EVAL) -> Evaluation:
    """Run every goal of the evaluation file and score it (see the module docstring)."""
    goals = tomllib.loads(eval_path.read_text(encoding="utf-8"))["goal"]
    results = []
    for goal in goals:
        acceptable = set(goal["acceptable"])
        unknown = acceptable - {item.id for item in catalogue}
        if unknown:
            raise ValueError(f"{eval_path}: goal {goal['text']!r}: unknown ids {sorted(unknown)}")
        split = goal.get("split", "tune")
        if split not in SPLITS:
            raise ValueError(f"{eval_path}: goal {goal['text']!r}: split must be one of {SPLITS}")
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
                split=split,
            )
        )
    return Evaluation(tuple(results))


def _figures(label: str, evaluation: Evaluation) -> str:
    return (
        f"{label:<8} goals {len(evaluation.results):>3}  "
        f"precision@3 {evaluation.precision_at_3:.3f} (ceiling {evaluation.ceiling:.3f})  "
        f"area accuracy {evaluation.area_accuracy:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    parser.add_argument(
        "--verbose",
        nargs="?",
        const="tune",
        choices=(*SPLITS, "all"),
        help="list failing goals of this half (default: tune)",
    )
    args = parser.parse_args(argv)
    result = evaluate(load_catalogue(), args.eval)
    if args.verbose:
        for r in result.results:
            if args.verbose != "all" and r.split != args.verbose:
                continue
            if r.precision < 1 or not r.area_correct:
                mark = "" if r.area_correct else f"  AREA={r.top_area}"
                print(f"{r.precision:.2f} {r.text!r} -> {list(r.suggested)}{mark}")
    print(_figures("all", result))
    for name in SPLITS:
        print(_figures(name, result.split(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
