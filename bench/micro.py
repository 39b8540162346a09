"""Formula and suggestions micro-benchmarks (the figures bench_formula.py and bench_suggest.py
print on their own), as rows of the one table."""

from __future__ import annotations

import statistics
import time

from bench.bench_formula import TARGET_PER_SECOND, varied_answers
from bench.bench_suggest import GOALS, synthetic_catalogue
from bench.common import Row, percentile, verdict
from dialogs.ideas import suggest
from formula import allocate, load_shipped_scheme

SUGGEST_TARGET_P95_MS = 5.0


async def formula(*, quick: bool) -> list[Row]:
    rounds, count = (3, 1_000) if quick else (7, 5_000)
    scheme = load_shipped_scheme("adult-2026")
    answer_sets = varied_answers(count)
    for answers in answer_sets:  # warm-up: fills the per-scheme lookup
        allocate(answers, scheme)
    rates = []
    for _ in range(rounds):
        started = time.perf_counter()
        for answers in answer_sets:
            allocate(answers, scheme)
        rates.append(len(answer_sets) / (time.perf_counter() - started))
    best, median = max(rates), statistics.median(rates)
    return [
        Row(
            "formula",
            f"allocate() adult-2026, {count:,} answer sets x {rounds} rounds",
            f"median {median:,.0f}/s, best {best:,.0f}/s",
            f">= {TARGET_PER_SECOND:,}/s (best)",
            verdict(best >= TARGET_PER_SECOND),
        )
    ]


async def suggestions(*, quick: bool) -> list[Row]:
    items, runs = (1_000, 200) if quick else (5_000, 2_000)
    catalogue = synthetic_catalogue(items)
    for goal in GOALS:  # warm up caches as a running bot would be
        suggest(goal, catalogue)
    timings = []
    for run in range(runs):
        started = time.perf_counter()
        suggest(GOALS[run % len(GOALS)], catalogue, budget_left_pence=100_000, limit=5)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = percentile(timings, 0.95)
    return [
        Row(
            "suggest",
            f"suggest() over {items:,} catalogue items, {runs:,} calls",
            f"p50 {percentile(timings, 0.5):.2f} / p95 {p95:.2f} / max {timings[-1]:.2f} ms",
            f"p95 <= {SUGGEST_TARGET_P95_MS:.0f} ms",
            verdict(p95 <= SUGGEST_TARGET_P95_MS),
        )
    ]
