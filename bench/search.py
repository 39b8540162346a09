"""Staff search: transcript search over generated messages (default 1,000,000), p95.

Each person's messages come in conversations of 25, and everyone's conversations are
spread over the whole period in a random order, as a council's would be: one person's
messages are not next to each other in the table. The messages are bulk loaded
(executemany on SQLite, COPY on PostgreSQL) into a database migrated to the latest
revision, whose migration 0004 adds the full-text indexes (SQLite: FTS5 kept by triggers;
PostgreSQL: GIN on to_tsvector('simple', body)). Searches go through the dashboard's own
`transcript()` (one person's transcript, words searched, first page).
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from bench.common import BACKENDS, Row, Scratch, percentile, progress, scratch_database, verdict
from bench.memory import store_people
from bot.storage.models import ConversationEvent, Person
from bot.storage.search_index import index_in_batches

TARGET_P95_MS = 100.0
MESSAGES_PER_PERSON = 1_000
CONVERSATION = 25  # messages a person sends and gets in one sitting
SEARCHES = 200
CHUNK = 20_000
PHRASES = [
    "I feel lonely and stuck indoors since my stroke",
    "my knees hurt and I cant walk far",
    "I look after my husband and never get a break",
    "want to learn guitar and make friends my age",
    "Your estimated budget is £5,200 a year (£100.00 a week)",
    "Step 6 of 8 Ideas for your goal: gardening club, art course, a walking group",
    "Added to your plan: community support worker, once a week",
    "How often would you like it? Once a week, twice a week",
    "Is that right? Yes, change the areas, write it again",
    "Your plan: total £2,340 a year of your £5,200 budget",
    "the day centre is boring, he wants to be outdoors",
    "cant sleep at night and I am anxious all the time",
]
COMMON = "budget"  # in about one message in six
RARE = [f"zorblat{n}" for n in range(50)]  # each in about one message in 5,000


def _bodies(rng: random.Random, count: int) -> list[str]:
    bodies = []
    for _ in range(count):
        body = rng.choice(PHRASES)
        if rng.random() < 0.01:
            body += " " + rng.choice(RARE)
        bodies.append(body)
    return bodies


def _speakers(people: list[int], messages: int) -> list[int]:
    """Whose each message is: every person's conversations, shuffled over the period."""
    sittings = [person for person in people for _ in range(-(-MESSAGES_PER_PERSON // CONVERSATION))]
    random.Random(2027).shuffle(sittings)
    return [sittings[n // CONVERSATION % len(sittings)] for n in range(messages)]


def _rows(rng: random.Random, start: int, count: int, speakers: list[int]) -> list[dict[str, Any]]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    bodies = _bodies(rng, count)
    return [
        {
            "person_id": speakers[start + n],
            "actor_telegram_id": 1,
            "actor_role": "person",
            "direction": "in" if n % 2 else "out",
            "kind": "text" if n % 2 else "message",
            "step": "goal_ask",
            "body": bodies[n],
            "detail": {},
            "created_at": base + timedelta(seconds=start + n),
        }
        for n in range(count)
    ]


async def _load(scratch: Scratch, messages: int, rng: random.Random) -> list[int]:
    people_count = max(1, messages // MESSAGES_PER_PERSON)
    await store_people(scratch.storage, people_count)
    async with scratch.storage.sessions() as session:
        people = list(await session.scalars(text("SELECT id FROM people ORDER BY id")))
    assert len(people) == people_count and Person.__tablename__ == "people"
    speakers = _speakers(people, messages)
    started = time.perf_counter()
    if scratch.backend == "postgresql":
        await _copy_postgres(scratch, messages, rng, speakers)
    else:
        for start in range(0, messages, CHUNK):
            rows = _rows(rng, start, min(CHUNK, messages - start), speakers)
            async with scratch.storage.sessions() as session, session.begin():
                await session.execute(insert(ConversationEvent), rows)
            if (start // CHUNK) % 10 == 9:
                progress(
                    f"  search: {scratch.backend}: {start + len(rows):,}/{messages:,} messages"
                )
        # As `codesign run` does every second (bot.storage.search_index), before the clock.
        added = await index_in_batches(scratch.storage.engine, batch=CHUNK * 10)
        progress(f"  search: sqlite: {added:,} messages added to the full-text index")
    progress(
        f"  search: {scratch.backend}: {messages:,} messages loaded in "
        f"{time.perf_counter() - started:.0f} s"
    )
    return people


async def _copy_postgres(
    scratch: Scratch, messages: int, rng: random.Random, speakers: list[int]
) -> None:
    """COPY in chunks; the GIN index is dropped for the load and built again (same shape)."""
    columns = ["person_id", "actor_telegram_id", "actor_role", "direction", "kind", "step"]
    columns += ["body", "detail", "created_at"]
    async with scratch.storage.engine.connect() as connection:
        index = await connection.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
            {"name": "ix_conversation_events_body_fts"},
        )
        if index is not None:
            await connection.execute(text("DROP INDEX ix_conversation_events_body_fts"))
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        for start in range(0, messages, CHUNK):
            rows = _rows(rng, start, min(CHUNK, messages - start), speakers)
            records = [(*(row[c] for c in columns[:-2]), "{}", row["created_at"]) for row in rows]
            await driver.copy_records_to_table(
                "conversation_events", records=records, columns=columns, schema_name=scratch.schema
            )
            if (start // CHUNK) % 10 == 9:
                progress(f"  search: postgresql: {start + len(rows):,}/{messages:,} messages")
        if index is not None:
            progress("  search: postgresql: building the GIN index")
            await connection.execute(text(index))
        await connection.execute(text("ANALYZE conversation_events"))
        await connection.commit()


async def _search(scratch: Scratch, people: list[int], rng: random.Random) -> list[float]:
    from bot.dashboard.store import transcript

    queries = [COMMON, "lonely", "walk far", "budget plan", *RARE[:10]]
    timings = []
    sessions = scratch.storage.dashboard_sessions
    for n in range(SEARCHES):
        person_id = rng.choice(people)
        query = queries[n % len(queries)]
        async with sessions() as session:
            started = time.perf_counter()
            await transcript(session, person_id=person_id, query=query)
            timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


async def run(*, messages: int, quick: bool) -> list[Row]:
    rows = []
    for backend in BACKENDS:
        rng = random.Random(2026)
        async with scratch_database(backend) as scratch:
            progress(f"search: {backend}: loading {messages:,} messages")
            people = await _load(scratch, messages, rng)
            progress(f"search: {backend}: {SEARCHES} searches")
            await _search(scratch, people, rng)  # warm: as a running dashboard would be
            timings = await _search(scratch, people, rng)
        p95 = percentile(timings, 0.95)
        rows.append(
            Row(
                "search",
                f"{backend}: transcript search, {messages:,} messages, {SEARCHES} searches",
                f"p50 {percentile(timings, 0.5):.1f} / p95 {p95:.1f} / max {timings[-1]:.1f} ms",
                f"p95 <= {TARGET_P95_MS:.0f} ms",
                verdict(p95 <= TARGET_P95_MS),
            )
        )
    return rows
