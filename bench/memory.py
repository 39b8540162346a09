"""Memory: RSS of a process holding the app and serving a few updates, with 100 and with
100,000 people stored. Each case runs in a fresh process (`python -m bench.memory URL`) so
the figures are not mixed with the benchmark's own memory."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from datetime import UTC, datetime

from sqlalchemy import insert

from bench.common import Row, in_fresh_process, progress, rss_mb, scratch_database, verdict
from bench.script import people_updates, pilot_script
from bot.storage.models import Person

TARGET_GROWTH_MB = 50.0
CHUNK = 5_000
# Someone halfway through: a budget, a goal and one idea, as the conversation stores it.
STORED_CONVERSATION = {
    "step": "ideas",
    "language": "en",
    "consent": True,
    "acting_for": "self",
    "answers": {"q1": "a_little", "q2": "sometimes"},
    "goals": [{"id": 1, "text": "I feel lonely and stuck indoors", "areas": ["social"]}],
    "history": ["language", "consent", "who", "source", "question", "goal_ask", "budget"],
}


async def store_people(storage: object, count: int) -> None:
    """Bulk insert `count` people (executemany in chunks), as if they had all talked to us."""
    now = datetime.now(UTC)
    sessions = storage.sessions  # type: ignore[attr-defined]
    for start in range(0, count, CHUNK):
        rows = [
            {
                "telegram_user_id": 50_000_000 + n,
                "display_name": f"Stored person {n}",
                "language": "en",
                "step": "ideas",
                "conversation": STORED_CONVERSATION,
                "created_by_staff": False,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(start, min(count, start + CHUNK))
        ]
        async with sessions() as session, session.begin():
            await session.execute(insert(Person), rows)


async def probe(url: str) -> dict[str, float]:
    """In the child: the app as `codesign run` holds it, three whole conversations, then RSS."""
    from bot.conversation import council_data
    from bot.runtime import Storage
    from bot.storage.engine import create_engine, session_factory
    from bot.telegram.dispatcher import BOT_DEFAULTS, build_dispatcher
    from bot.telegram.locks import chat_locks_for
    from bot.telegram.recording import LOCAL_BOT_TOKEN, RecordingSession

    script = await pilot_script()
    engine = create_engine(url)
    storage = Storage(engine, session_factory(engine))
    council_data()
    dispatcher = build_dispatcher(
        sessions=storage.sessions,
        locks=chat_locks_for(database_backend=engine.dialect.name, redis_url=None),
        journal_updates=True,
    )
    from aiogram import Bot

    bot = Bot(LOCAL_BOT_TOKEN, session=RecordingSession(), default=BOT_DEFAULTS)
    for updates in people_updates(
        script, people=3, first_user=9_000_000, update_ids=itertools.count(1)
    ):
        for update in updates:
            await dispatcher.feed_update(bot, update)
    await engine.dispose()
    return {"rss_mb": rss_mb(), "peak_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's highest RSS (VmHWM). Not ru_maxrss: Linux keeps that across exec, so a
    child started by a large benchmark process would report its parent's peak."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    return float("nan")


async def _case(count: int) -> dict[str, float]:
    async with scratch_database("sqlite") as scratch:
        progress(f"memory: storing {count:,} people")
        await store_people(scratch.storage, count)
        return await in_fresh_process("memory", scratch.url)


async def run(*, large: int, quick: bool) -> list[Row]:
    small = await _case(100)
    big = await _case(large)
    growth = big["rss_mb"] - small["rss_mb"]
    return [
        Row(
            "memory",
            "RSS after 3 conversations, 100 people stored (SQLite)",
            f"{small['rss_mb']:.0f} MB (peak {small['peak_mb']:.0f} MB)",
        ),
        Row(
            "memory",
            f"RSS after 3 conversations, {large:,} people stored (SQLite)",
            f"{big['rss_mb']:.0f} MB (peak {big['peak_mb']:.0f} MB)",
        ),
        Row(
            "memory",
            f"RSS growth, 100 -> {large:,} people",
            f"{growth:+.1f} MB",
            f"< {TARGET_GROWTH_MB:.0f} MB",
            verdict(growth < TARGET_GROWTH_MB),
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe(sys.argv[1]))))
