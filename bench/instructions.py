"""Instructions per update over whole conversations, ours and the floor's (bench/README.md).

The bench's `instructions` section runs, for SQLite, PostgreSQL and the floor:

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \\
        .venv/bin/python -m bench.instructions sqlite

Runs the conversation section's saturation run (`bench.conversation.drive`: the
production dispatcher, its middlewares, templates and the journal, the JSON logs written
to memory; on SQLite the search indexing and WAL checkpoints on a thread, as `codesign run`
does them) on a scratch database, or with `floor` through the floor's dispatcher that only
answers: first `--warm` people, not counted, so that caches, pools and first-use work are
behind it, then `--people` more, counted. Callgrind counts only from the first of the
counted people's updates to the last one's answer: start-up, the pilot walk, the
migration and the warm-up are left out; the run's RSS sampler and progress line, which
wake ten times a second, are counted with it. Charts and PDFs are drawn in the drawing
process, which callgrind does not follow (as the conversation section's peak RSS leaves
it out).

Instruction counts do not depend on the machine's speed or on what else runs on it, so
two commits, and ours against the floor, can be compared on a noisy machine where timing
them cannot. The switch is Valgrind's client request, in a few lines of C built with the
machine's C compiler and Valgrind's headers (Debian's `valgrind` package).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import itertools
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from aiogram import Dispatcher

from bench.common import BACKENDS, Row, progress, scratch_database
from bench.conversation import drive, floor_dispatcher, production_dispatcher, production_logs
from bench.script import Step, people_updates, pilot_script
from bot import attachments

FLOOR = "floor"
TARGETS = (*BACKENDS, FLOOR)
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")
_COUNTED = re.compile(r"^(\d+) updates counted through", re.M)
_SWITCH_C = """
#include <valgrind/callgrind.h>
int running_on_valgrind(void) { return RUNNING_ON_VALGRIND; }
void count_from_here(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void count_no_more(void) { CALLGRIND_STOP_INSTRUMENTATION; }
"""


class NotCounting(Exception):
    """The harness cannot switch callgrind's counting on (no compiler, or not under valgrind)."""


def callgrind_switch(folder: Path) -> ctypes.CDLL:
    """Valgrind's client requests, built into a small library in `folder`."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise NotCounting("no C compiler (cc or gcc) to build callgrind's switch")
    source, library = folder / "switch.c", folder / "switch.so"
    source.write_text(_SWITCH_C)
    built = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O1", "-o", str(library), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        first = built.stderr.strip().splitlines()[:1] or ["no message"]
        raise NotCounting(
            f"building callgrind's switch failed ({first[0]}); is valgrind installed?"
        )
    switch = ctypes.CDLL(str(library))
    if not switch.running_on_valgrind():
        raise NotCounting(
            "not running under callgrind: valgrind --tool=callgrind --instr-atstart=no "
            "--callgrind-out-file=/dev/null .venv/bin/python -m bench.instructions ..."
        )
    return switch


@contextmanager
def counted(switch: ctypes.CDLL) -> Iterator[None]:
    switch.count_from_here()
    try:
        yield
    finally:
        switch.count_no_more()


async def _feed(
    dispatcher: Dispatcher,
    script: list[Step],
    *,
    warm: int,
    people: int,
    meter: AbstractContextManager[object],
) -> int:
    update_ids = itertools.count(10_000)
    if warm:
        progress(f"instructions: {warm} people to warm up (not counted)")
        first = people_updates(script, people=warm, first_user=1_000_000, update_ids=update_ids)
        await drive(dispatcher, first, label="warm-up")
    progress(f"instructions: {people} people, counted")
    counted_people = people_updates(
        script, people=people, first_user=2_000_000, update_ids=update_ids
    )
    result = await drive(dispatcher, counted_people, label="counted", meter=meter)
    return result.updates


async def count(
    target: str, *, warm: int, people: int, meter: AbstractContextManager[object]
) -> int:
    """Warm up, then `people` whole conversations through `target`, the feeding in `meter`
    (callgrind's count, `counted`; bench.calls's profile hook); the updates fed in it."""
    attachments.start_drawing()
    try:
        with production_logs():
            script = await pilot_script()
            if target == FLOOR:
                dispatcher = floor_dispatcher()
                return await _feed(dispatcher, script, warm=warm, people=people, meter=meter)
            async with (
                scratch_database(target) as scratch,
                production_dispatcher(scratch) as dispatcher,
            ):
                return await _feed(dispatcher, script, warm=warm, people=people, meter=meter)
    finally:
        await asyncio.to_thread(attachments.stop_drawing)


def _per_update(target: str, *, warm: int, people: int) -> float:
    """Instructions per update through `target`, from callgrind in a process of its own."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.instructions",
        target,
        f"--people={people}",
        f"--warm={warm}",
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent
    )
    collected, counted = _COLLECTED.search(done.stderr), _COUNTED.search(done.stdout)
    if done.returncode != 0 or collected is None or counted is None:
        # The program's own last words, not valgrind's summary lines ("==pid== ...").
        said = [line for line in done.stderr.splitlines() if line.strip()[:2] not in ("", "==")]
        last = said[-1] if said else "no message"
        raise RuntimeError(f"callgrind on {target} failed (exit {done.returncode}): {last}")
    return int(collected.group(1)) / int(counted.group(1))


async def run(*, quick: bool) -> list[Row]:
    """The bench's section: instructions per update for each database and the floor."""
    if shutil.which("valgrind") is None:
        return [Row("instructions", "not counted", "valgrind is not installed", "", "")]
    warm, people = (2, 3) if quick else (10, 10)
    counts: dict[str, float] = {}
    for target in TARGETS:
        progress(f"instructions: {target} under callgrind ({warm} people, then {people} counted)")
        counts[target] = await asyncio.to_thread(_per_update, target, warm=warm, people=people)
    floor = counts[FLOOR]
    case = f"per update, callgrind ({people} people at once, after {warm})"
    value = ", ".join(f"{target} {counts[target] / 1e6:.3f} M" for target in (*BACKENDS, FLOOR))
    ratios = " / ".join(f"{counts[backend] / floor:.2f}x" for backend in BACKENDS)
    return [
        Row("instructions", case, value),
        Row("instructions", "vs floor, SQLite / PostgreSQL", ratios),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.instructions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument(
        "--people", type=int, default=10, help="people at once, counted (default 10)"
    )
    parser.add_argument(
        "--warm", type=int, default=10, help="people first, not counted (default 10)"
    )
    args = parser.parse_args(argv)
    if args.people < 1:
        parser.error("--people must be at least 1")
    if args.warm < 0:
        parser.error("--warm must be 0 or more")
    with tempfile.TemporaryDirectory(prefix="codesign-callgrind-") as folder:
        try:
            switch = callgrind_switch(Path(folder))
        except NotCounting as problem:
            parser.exit(2, f"{parser.prog}: error: {problem}\n")
        updates = asyncio.run(
            count(args.target, warm=args.warm, people=args.people, meter=counted(switch))
        )
    print(
        f"{updates} updates counted through {args.target}: divide callgrind's "
        f"'Collected' by {updates} for the instructions per update"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
