"""Conversation: N simulated people complete the whole co-design conversation concurrently.

Each person is an asyncio task feeding their own updates in order through the production
dispatcher (`build_dispatcher(..., journal_updates=True, locks=...)`, as `codesign run`
builds it), with templates and a real database; the bot's session records instead of
calling Telegram. Updates are built before the clock starts; timing covers
`dp.feed_update` only. Two runs per database:

- saturation: every person at once, no pause between their updates (a closed loop): the
  throughput, and the handling time while 1,000 updates queue for the process;
- paced: every person at once with a human pause between updates (exponential, mean
  N / rate seconds, so the offered load is about `rate` updates a second): the handling time
  a person sees at that load (the p95 target).

The floor is the same saturation run through an aiogram dispatcher whose only handlers
answer (a message with one text, a button press with an answer), run right before and
right after each database's saturation run; that database's ratios are to the mean of
those two.
"""

from __future__ import annotations

import asyncio
import gc
import io
import itertools
import logging
import random
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import (
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Message, Update
from sqlalchemy import func, select

from bench.common import (
    BACKENDS,
    PeakRss,
    Row,
    Scratch,
    percentile,
    progress,
    scratch_database,
    verdict,
)
from bench.script import Step, people_updates, pilot_script
from bot import attachments
from bot.logging_setup import configure_logging
from bot.storage.engine import keep_sqlite_tidy
from bot.storage.journal import DONE, TelegramUpdate
from bot.storage.models import Plan
from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
from bot.telegram.locks import chat_locks_for
from bot.telegram.recording import LOCAL_BOT_TOKEN, RecordingSession

TARGET_P95_MS = 15.0
TARGET_PER_SECOND = 500.0
TARGET_FLOOR_RATIO = 10.0


class CountingSession(RecordingSession):
    """The recording session, keeping a count instead of every request (memory stays flat)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (the BaseSession signature)
    ) -> TelegramType:
        result = await super().make_request(bot, method, timeout)
        self.requests.clear()
        self.count += 1
        return result


@dataclass(frozen=True, slots=True)
class RunResult:
    updates: int
    seconds: float
    timings_ms: list[float]  # sorted
    peak_rss_mb: float
    requests: int

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    def p(self, fraction: float) -> float:
        return percentile(self.timings_ms, fraction)


async def drive(
    dispatcher: Dispatcher,
    everyone: list[list[Update]],
    *,
    label: str,
    think_mean: float | None = None,
    seed: int = 9,
    meter: AbstractContextManager[object] | None = None,
) -> RunResult:
    """Feed every person's updates (each person in order, everyone at once); `meter`, if
    given, is entered around the feeding alone (`bench.instructions` counts in it)."""
    session = CountingSession()
    bot = Bot(LOCAL_BOT_TOKEN, session=session, default=BOT_DEFAULTS)
    rng = random.Random(seed)
    timings: list[float] = []
    total = sum(len(updates) for updates in everyone)

    # As Telegram sends them: JSON objects, parsed in the timed part as the polling loop
    # and the webhook do (feeding ready Update objects would parse each one twice).
    raw = [[u.model_dump(mode="json", exclude_none=True) for u in updates] for updates in everyone]
    # The prepared updates (29,000 at full size) are the harness's, not the bot's: out of
    # the collector's sight, as `codesign run` puts what its start-up made (gc.freeze).
    gc.freeze()

    async def one(updates: list[dict[str, Any]], pauses: list[float]) -> None:
        for update, pause in zip(updates, pauses, strict=True):
            # Each update comes off the network, through the event loop: the loop runs
            # everything else due (other people, the WAL checkpoints) between a person's
            # updates, even when handling one never waits.
            await asyncio.sleep(pause)
            started = time.perf_counter()
            await dispatcher.feed_update(bot, Update.model_validate(update, context={"bot": bot}))
            timings.append((time.perf_counter() - started) * 1000)

    def pauses(count: int) -> list[float]:
        if think_mean is None:
            return [0.0] * count
        first = rng.uniform(0, think_mean)  # people start at different moments
        return [first] + [rng.expovariate(1 / think_mean) for _ in range(count - 1)]

    async def report() -> None:
        while True:
            await asyncio.sleep(5)
            progress(f"  {label}: {len(timings):,}/{total:,} updates")

    everyone_pauses = [pauses(len(updates)) for updates in raw]
    if think_mean is not None:
        # A person's pauses add up to about per_person * think_mean on average, but the
        # run lasts as long as its slowest person: say that, not the average.
        progress(f"  {label}: about {max(map(sum, everyone_pauses)):.0f} s (the slowest person)")
    reporter = asyncio.create_task(report())
    started = time.perf_counter()
    async with PeakRss() as rss:
        with meter or nullcontext():
            await asyncio.gather(
                *(
                    one(updates, paused)
                    for updates, paused in zip(raw, everyone_pauses, strict=True)
                )
            )
    seconds = time.perf_counter() - started
    reporter.cancel()
    gc.unfreeze()
    return RunResult(total, seconds, sorted(timings), rss.peak, session.count)


@contextmanager
def production_logs() -> Iterator[None]:
    """The production logs, JSON lines at INFO, written to memory instead of the terminal."""
    handler = configure_logging("INFO", stream=io.StringIO())
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # noise the runner also hides
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)


@asynccontextmanager
async def production_dispatcher(scratch: Scratch) -> AsyncIterator[Dispatcher]:
    """The dispatcher `codesign run` builds, on `scratch`, with what runs beside it.

    On SQLite that is the search index filled in batches and the WAL checkpoints, on a
    thread of this process, off the loop (`keep_sqlite_tidy`).
    """
    locks = chat_locks_for(database_backend=scratch.backend, redis_url=None)
    dashboard, tidying = scratch.storage.dashboard_engine, None
    if dashboard is not None:
        tidying = asyncio.create_task(keep_sqlite_tidy(scratch.storage.engine, dashboard))
    try:
        yield build_dispatcher(sessions=scratch.storage.sessions, locks=locks, journal_updates=True)
    finally:
        if tidying is not None:
            tidying.cancel()
            await asyncio.gather(tidying, return_exceptions=True)
        await locks.close()


def floor_dispatcher() -> Dispatcher:
    """aiogram with handlers that only answer: the least any bot must do per update."""
    router = Router(name="floor")

    async def on_message(message: Message) -> None:
        await message.answer("ok")

    async def on_press(callback: CallbackQuery) -> None:
        await callback.answer()

    router.message.register(on_message)
    router.callback_query.register(on_press)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


async def _check_finished(storage: Any, *, people: int) -> str:
    async with storage.sessions() as session:
        plans = int(await session.scalar(select(func.count()).select_from(Plan)) or 0)
        not_done = int(
            await session.scalar(
                select(func.count())
                .select_from(TelegramUpdate)
                .where(TelegramUpdate.status != DONE)
            )
            or 0
        )
    problems = []
    if plans != people:
        problems.append(f"{plans} plans submitted for {people} people")
    if not_done:
        problems.append(f"{not_done} updates failed")
    return "; ".join(problems)


def _latency_text(result: RunResult) -> str:
    return f"p50 {result.p(0.5):.1f} / p95 {result.p(0.95):.1f} / p99 {result.p(0.99):.1f} ms"


async def run(*, people: int, rate: float, quick: bool) -> list[Row]:
    attachments.start_drawing()  # as `codesign run` does: the drawing process is ready
    progress("conversation: walking the pilot conversation for the script")
    script: list[Step] = await pilot_script()
    per_person = len(script)
    progress(f"conversation: {per_person} updates per person, {people:,} people")
    update_ids = itertools.count(10_000)
    rows: list[Row] = []

    async def floor(moment: str) -> RunResult:
        updates = people_updates(script, people=people, first_user=1_000_000, update_ids=update_ids)
        progress(f"conversation: floor (aiogram, answer only), saturation, {moment}")
        return await drive(floor_dispatcher(), updates, label="floor")

    floors: list[RunResult] = []
    think_mean = people / rate
    with production_logs():
        for backend in BACKENDS:
            async with (
                scratch_database(backend) as scratch,
                production_dispatcher(scratch) as dispatcher,
            ):
                everyone = people_updates(
                    script, people=people, first_user=2_000_000, update_ids=update_ids
                )
                # The floor right before and right after: this machine's speed drifts by
                # more than a tenth within the half hour the whole section takes.
                next_to_it = [await floor(f"before {backend}")]
                progress(f"conversation: {backend}, saturation ({people:,} people at once)")
                busy = await drive(dispatcher, everyone, label=f"{backend} saturation")
                del everyone
                next_to_it.append(await floor(f"after {backend}"))
                floors += next_to_it
                problem = await _check_finished(scratch.storage, people=people)
                everyone = people_updates(
                    script, people=people, first_user=3_000_000, update_ids=update_ids
                )
                progress(
                    f"conversation: {backend}, paced (~{rate:,.0f} updates/s offered, "
                    f"a pause of {think_mean:.1f} s on average)"
                )
                paced = await drive(
                    dispatcher, everyone, label=f"{backend} paced", think_mean=think_mean
                )
                del everyone
                later = await _check_finished(scratch.storage, people=2 * people)
                problem = "; ".join(
                    f"{run}: {found}"
                    for run, found in (("saturation", problem), ("both runs", later))
                    if found
                )
            if problem:
                rows.append(Row("conversation", f"{backend}: CHECK FAILED", problem, "", "MISS"))
            rows += _backend_rows(backend, busy, paced, next_to_it, people, rate)
    middle = sorted(floors, key=lambda run: run.per_second)[len(floors) // 2]
    rates = ", ".join(f"{run.per_second:,.0f}" for run in floors)
    floor_row = Row(
        "conversation",
        f"floor: aiogram answering only, saturation ({len(floors)} runs)",
        f"{rates} updates/s; the median run's {_latency_text(middle)}",
    )
    return [floor_row, *rows]


def _backend_rows(
    backend: str,
    busy: RunResult,
    paced: RunResult,
    floors: list[RunResult],
    people: int,
    rate: float,
) -> list[Row]:
    """The database's rows; its ratios are to the mean of the floor runs next to it."""

    def floor_p(fraction: float) -> float:
        return sum(run.p(fraction) for run in floors) / len(floors)

    ratio = sum(run.per_second for run in floors) / len(floors) / busy.per_second
    p95_target = f"p95 <= {TARGET_P95_MS:.0f} ms" if backend == "sqlite" else ""
    p95_verdict = verdict(paced.p(0.95) <= TARGET_P95_MS) if backend == "sqlite" else ""
    return [
        Row(
            "conversation",
            f"{backend}: throughput, {people:,} people at once",
            f"{busy.per_second:,.0f} updates/s ({busy.updates:,} in {busy.seconds:.1f} s)",
            f">= {TARGET_PER_SECOND:,.0f}/s",
            verdict(busy.per_second >= TARGET_PER_SECOND),
        ),
        Row(
            "conversation",
            f"{backend}: handling time at saturation",
            _latency_text(busy),
        ),
        Row(
            "conversation",
            f"{backend}: handling time, {people:,} people paced at ~{rate:,.0f}/s",
            f"{_latency_text(paced)} (achieved {paced.per_second:,.0f}/s)",
            p95_target,
            p95_verdict,
        ),
        Row(
            "conversation",
            f"{backend}: vs floor (time per update; p50/p95/p99 at saturation)",
            f"{ratio:.1f}x; {busy.p(0.5) / floor_p(0.5):.1f}x / "
            f"{busy.p(0.95) / floor_p(0.95):.1f}x / {busy.p(0.99) / floor_p(0.99):.1f}x",
            f"<= {TARGET_FLOOR_RATIO:.0f}x",
            verdict(ratio <= TARGET_FLOOR_RATIO),
        ),
        Row(
            "conversation",
            f"{backend}: peak RSS",
            f"{max(busy.peak_rss_mb, paced.peak_rss_mb):,.0f} MB",
        ),
    ]
