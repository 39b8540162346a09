"""The audit log's check: `codesign audit verify` over a council's log, on both databases.

People (default 100,000, as the memory section stores) each have rows on their own chain
(ROWS_PER_PERSON, a conversation's worth) and staff have rows on the log-wide chain, all
interleaved in the order a council's would be written: each person's rows spread over
the period. The rows are hashed as the bot hashes them (`audit.entry_hash`), bulk loaded
(executemany on SQLite, COPY on PostgreSQL) with every head where the bot keeps it, and
`audit.verify` (what the command runs) is timed over all of them, with the process's
RSS before and at its peak.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from bench.common import (
    BACKENDS,
    Row,
    Scratch,
    in_fresh_process,
    progress,
    rss_mb,
    scratch_database,
)
from bench.memory import peak_rss_mb, store_people
from bot import audit
from bot.storage.models import AuditEntry

ROWS_PER_PERSON = 10
STAFF_ROWS_EVERY = 10  # one log-wide row (staff, the command line) for every 10 people's
CHUNK = 20_000
ACTIONS = ["consent_given", "goal_added", "budget_shown", "idea_added", "plan_confirmed"]
_COLUMNS = [
    "created_at",
    "actor_kind",
    "actor_id",
    "subject_person_id",
    "action",
    "detail",
    "prev_hash",
    "hash",
    "chain_person_id",
]


def _log(people: list[int]) -> tuple[list[dict[str, Any]], dict[int | None, str]]:
    """Every row in the order written, hashed on its chain, and each chain's newest hash."""
    writers: list[int | None] = [p for p in people for _ in range(ROWS_PER_PERSON)]
    writers += [None] * (len(writers) // (ROWS_PER_PERSON * STAFF_ROWS_EVERY))
    random.Random(2026).shuffle(writers)
    heads: dict[int | None, str] = {}
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for n, chain in enumerate(writers):
        subject = chain if chain is not None else people[n % len(people)]
        entry = {
            "created_at": base + timedelta(seconds=n),
            "actor_kind": "person" if chain is not None else "staff",
            "actor_id": str(chain if chain is not None else "staff@council.example"),
            "subject_person_id": subject,
            "action": ACTIONS[n % len(ACTIONS)] if chain is not None else "plan_viewed",
            # As a turn's choice: the step and a digest standing in for the person's words.
            "detail": {"step": "goal_ask", "after": audit.digest(f"my words {n}")},
        }
        prev_hash = heads.get(chain, audit.GENESIS)
        row_hash = audit.entry_hash(prev_hash=prev_hash, **entry)
        rows.append({**entry, "prev_hash": prev_hash, "hash": row_hash, "chain_person_id": chain})
        heads[chain] = row_hash
    return rows, heads


async def _load(scratch: Scratch, people_count: int) -> int:
    await store_people(scratch.storage, people_count)
    async with scratch.storage.sessions() as session:
        people = list(await session.scalars(text("SELECT id FROM people ORDER BY id")))
    started = time.perf_counter()
    rows, heads = _log(people)
    progress(
        f"  audit: {scratch.backend}: {len(rows):,} rows hashed in "
        f"{time.perf_counter() - started:.0f} s; loading"
    )
    if scratch.backend == "postgresql":
        await _copy_postgres(scratch, rows)
    else:
        for start in range(0, len(rows), CHUNK):
            async with scratch.storage.sessions() as session, session.begin():
                await session.execute(insert(AuditEntry), rows[start : start + CHUNK])
    # The heads moved by the statements the bot moves them with.
    async with scratch.storage.sessions() as session, session.begin():
        chained = [{"p_person": p, "p_last_hash": h} for p, h in heads.items() if p is not None]
        for start in range(0, len(chained), CHUNK):
            await session.execute(audit._MOVE_PERSON_HEAD, chained[start : start + CHUNK])
        last_id = await session.scalar(
            text("SELECT max(id) FROM audit_log WHERE chain_person_id IS NULL")
        )
        head = {"p_head": audit.HEAD_ID, "p_last_id": last_id, "p_last_hash": heads[None]}
        await session.execute(audit._MOVE_HEAD, head)  # the migration made the head's row
    return len(rows)


async def _copy_postgres(scratch: Scratch, rows: list[dict[str, Any]]) -> None:
    async with scratch.storage.engine.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        for start in range(0, len(rows), CHUNK * 5):
            records = [
                tuple(json.dumps(row[c]) if c == "detail" else row[c] for c in _COLUMNS)
                for row in rows[start : start + CHUNK * 5]
            ]
            await driver.copy_records_to_table(
                "audit_log", records=records, columns=_COLUMNS, schema_name=scratch.schema
            )
        await connection.execute(text("ANALYZE audit_log"))
        await connection.commit()


async def probe(url: str, schema: str | None) -> dict[str, Any]:
    """In the child: `audit.verify` as the command runs it, timed, and the process's RSS."""
    from bot.storage.engine import create_engine, session_factory

    kwargs: dict[str, Any] = {}
    if schema is not None:
        kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    engine = create_engine(url, **kwargs)
    async with engine.connect() as connection:  # connected, as the command is before it walks
        await connection.execute(text("SELECT 1"))
    async with session_factory(engine)() as session:
        before = rss_mb()
        started = time.perf_counter()
        # With progress, as the command runs it: the rows are counted first.
        result = await audit.verify(session, progress=lambda _checked, _total: None)
        took = time.perf_counter() - started
    await engine.dispose()
    return {
        "seconds": took,
        "ok": result.ok,
        "problem": result.problem,
        "checked": result.checked,
        "chains": result.chains,
        "rss_mb": before,
        "peak_mb": peak_rss_mb(),
    }


async def _verify_in_child(scratch: Scratch) -> dict[str, Any]:
    return await in_fresh_process(
        "audit", scratch.url, *([scratch.schema] if scratch.schema else [])
    )


async def run(*, people: int, quick: bool) -> list[Row]:
    rows = []
    for backend in BACKENDS:
        async with scratch_database(backend) as scratch:
            progress(f"audit: {backend}: {people:,} people, {ROWS_PER_PERSON} rows each")
            stored = await _load(scratch, people)
            progress(f"audit: {backend}: verifying {stored:,} rows")
            found = await _verify_in_child(scratch)
        if not found["ok"] or found["checked"] != stored:
            raise AssertionError(f"verify did not pass a sound log: {found}")
        took = found["seconds"]
        rows.append(
            Row(
                "audit",
                f"{backend}: verify, {stored:,} rows on {found['chains']:,} chains",
                f"{took:.1f} s ({stored / took:,.0f} rows/s); RSS {found['rss_mb']:.0f} MB "
                f"before, peak {found['peak_mb']:.0f} MB",
            )
        )
    del quick
    return rows


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))))
