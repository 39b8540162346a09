"""Python calls per update over whole conversations, by the function of ours they came from.

    .venv/bin/python -m bench.calls sqlite [--people 20] [--warm 10] [--top 40]

Runs what `bench.instructions` counts (the conversation section's saturation run through
the production dispatcher, or `floor`), with a profile hook (`sys.setprofile`) on from the
first counted update to the last answer, and gives every call of a Python or C function
to the innermost frame of codesign-bot's own code (bot/, dialogs/, formula/) on the stack
when it was made: a call in SQLAlchemy's commit counts for the function of ours that asked
for the commit. Calls with none of ours on the stack (aiogram's dispatch, the event loop)
are "outside ours".

A call is not an instruction, but the counts are exact, so they change only with the code,
and they say where the libraries' work comes from: `bench.instructions` says how much an
update costs, this says who asks for it ("Fifteenth round" in bench/README.md). The hook
slows the run about tenfold; only the thread the updates run on is watched.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import CodeType, FrameType

from bench.instructions import TARGETS, count

ROOT = Path(__file__).resolve().parent.parent
OURS = tuple(f"{ROOT / package}/" for package in ("bot", "dialogs", "formula"))
OUTSIDE = "(outside ours)"


class CallCensus:
    """Calls counted by the innermost function of ours on the stack."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._names: dict[CodeType, str] = {}

    def _ours(self, code: CodeType) -> str:
        name = self._names.get(code)
        if name is None:
            path = code.co_filename
            ours = path.startswith(OURS)
            name = f"{Path(path).relative_to(ROOT)}:{code.co_qualname}" if ours else ""
            self._names[code] = name
        return name

    def _hook(self, frame: FrameType, event: str, _arg: object) -> None:
        if event != "call" and event != "c_call":
            return
        # A Python call's own frame is `frame`: counted for whoever called it.
        here: FrameType | None = frame.f_back if event == "call" else frame
        while here is not None:
            name = self._ours(here.f_code)
            if name:
                self.calls[name] += 1
                return
            here = here.f_back
        self.calls[OUTSIDE] += 1

    @contextmanager
    def watching(self) -> Iterator[None]:
        sys.setprofile(self._hook)
        try:
            yield
        finally:
            sys.setprofile(None)


def report(census: CallCensus, updates: int, *, top: int) -> str:
    total = sum(census.calls.values())
    lines = [f"{total / updates:,.0f} calls per update ({updates} updates)"]
    for name, calls in census.calls.most_common(top):
        lines.append(f"{calls / updates:9.1f}  {100 * calls / total:5.1f}%  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.calls",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--people", type=int, default=20, help="people at once (default 20)")
    parser.add_argument(
        "--warm", type=int, default=10, help="people first, not watched (default 10)"
    )
    parser.add_argument("--top", type=int, default=40, help="functions listed (default 40)")
    args = parser.parse_args(argv)
    if args.people < 1:
        parser.error("--people must be at least 1")
    if args.warm < 0:
        parser.error("--warm must be 0 or more")
    if args.top < 1:
        parser.error("--top must be at least 1")
    census = CallCensus()
    updates = asyncio.run(
        count(args.target, warm=args.warm, people=args.people, meter=census.watching())
    )
    print(report(census, updates, top=args.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
