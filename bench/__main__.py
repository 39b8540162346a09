"""Run the benchmarks and print one table: `.venv/bin/python -m bench [--quick] [--only ...]`.

Not a test: figures depend on the machine and on what else runs on it. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import time
from collections.abc import Awaitable, Callable

from bench.common import Row, interpreter, progress

SECTIONS = (
    "conversation",
    "instructions",
    "formula",
    "suggest",
    "search",
    "scaleout",
    "memory",
    "audit",
)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--people", type=int, default=None, help="simulated people (1000)")
    parser.add_argument(
        "--rate",
        type=float,
        default=50.0,
        help="updates/s offered in the paced run (50: 1,000 people reading for 20 s a tap)",
    )
    parser.add_argument(
        "--messages", type=int, default=None, help="messages for the search (1,000,000)"
    )
    parser.add_argument(
        "--stored-people",
        type=int,
        default=None,
        help="people stored for the large memory case and the audit log (100,000)",
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated: {','.join(SECTIONS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(args.only) - set(SECTIONS))
    if unknown:
        parser.error(f"--only: unknown section {', '.join(unknown)}; use {','.join(SECTIONS)}")
    quick = args.quick
    args.people = args.people or (20 if quick else 1_000)
    args.messages = args.messages or (20_000 if quick else 1_000_000)
    args.stored_people = args.stored_people or (2_000 if quick else 100_000)
    return args


def sections(args: argparse.Namespace) -> dict[str, Callable[[], Awaitable[list[Row]]]]:
    """Each section's coroutine; modules are imported only when their section runs."""

    def section(module: str, function: str, **kwargs: object) -> Callable[[], Awaitable[list[Row]]]:
        def start() -> Awaitable[list[Row]]:
            runner = getattr(importlib.import_module(f"bench.{module}"), function)
            return runner(quick=args.quick, **kwargs)  # type: ignore[no-any-return]

        return start

    return {
        "conversation": section("conversation", "run", people=args.people, rate=args.rate),
        "instructions": section("instructions", "run"),
        "formula": section("micro", "formula"),
        "suggest": section("micro", "suggestions"),
        "search": section("search", "run", messages=args.messages),
        "scaleout": section("scaleout", "run", people=max(10, args.people // 5)),
        "memory": section("memory", "run", large=args.stored_people),
        "audit": section("audit", "run", people=args.stored_people),
    }


def table(rows: list[Row]) -> str:
    headers = ("section", "case", "result", "target", "")
    cells = [headers] + [(r.section, r.case, r.value, r.target, r.verdict) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for number, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


async def main_async(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = [interpreter()]
    chosen = sections(args)
    for name in SECTIONS:
        if name not in args.only:
            continue
        started = time.perf_counter()
        progress(f"== {name} ==")
        try:
            rows += await chosen[name]()
        except Exception as error:  # one broken section must not hide the others' figures
            rows.append(Row(name, "ERROR", f"{type(error).__name__}: {error}"[:160], "", "MISS"))
        progress(f"== {name} done in {time.perf_counter() - started:.0f} s ==")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    rows = asyncio.run(main_async(args))
    print(table(rows))
    return 1 if any(row.case == "ERROR" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
