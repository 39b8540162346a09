"""Benchmark: `suggest()` latency over a synthetic 5,000-item catalogue (not a timed test).

Usage: .venv/bin/python bench/bench_suggest.py [--items 5000] [--runs 2000]

The synthetic catalogue keeps the shipped concepts and items and adds generated items whose
names, synonyms and tags mix the shipped vocabulary with made-up words, so the indexes are
as large (and the tag postings as long) as a big council's catalogue would make them.
Prints the load time and p50 / p95 / max per call. Target: p95 <= 5 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace

from dialogs.ideas import Catalogue, load_catalogue, suggest
from dialogs.ideas.catalogue import CatalogueItem

GOALS = [
    "I'm so lonely, no one to talk to",
    "stuck indoors all day",
    "im anxous all the time and stressed out",
    "my knees hurt and I cant walk far",
    "cant sleep at night",
    "my mum gets confused and wanders",
    "I want therapy but also something creative",
    "I'd like to get a job or do some volunteering",
    "I look after my husband 24/7 and never get a break",
    "Dad is terminally ill and wants to die at home",
    "want to learn guitar and make friends my age",
    "the day centre is boring, he wants to be outdoors",
]
SYLLABLES = ["bra", "tel", "mon", "wy", "dre", "cas", "lin", "por", "fen", "gil", "ost", "ru"]


def synthetic_catalogue(size: int, seed: int = 7) -> Catalogue:
    shipped = load_catalogue()
    rng = random.Random(seed)
    tags = sorted({tag for item in shipped for tag in item.tags})
    words = sorted({w for item in shipped for w in item.name.lower().split() if w.isalpha()})
    items: list[CatalogueItem] = list(shipped.items)
    while len(items) < size:
        base = rng.choice(shipped.items)
        made_up = "".join(rng.choice(SYLLABLES) for _ in range(3))
        name = f"{made_up.title()} {rng.choice(words)} {rng.choice(words)}"
        items.append(
            replace(
                base,
                id=f"synthetic_{len(items)}",
                name=name,
                synonyms=(made_up, f"{made_up} {rng.choice(words)}"),
                tags=tuple(rng.sample(tags, 4)),
            )
        )
    return Catalogue(tuple(items), shipped.concepts, source="synthetic")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    start = time.perf_counter()
    catalogue = synthetic_catalogue(args.items)
    load_ms = (time.perf_counter() - start) * 1000
    for goal in GOALS:  # warm up caches as a running bot would be
        suggest(goal, catalogue)
    timings = []
    for run in range(args.runs):
        goal = GOALS[run % len(GOALS)]
        t0 = time.perf_counter()
        suggest(goal, catalogue, budget_left_pence=100_000, limit=5)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"items: {len(catalogue)}  build: {load_ms:.0f} ms  runs: {len(timings)}")
    print(f"p50: {statistics.median(timings):.2f} ms  p95: {p95:.2f} ms  max: {timings[-1]:.2f} ms")


if __name__ == "__main__":
    main()
