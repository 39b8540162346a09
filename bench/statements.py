"""One update's statements, N times, for counting instructions (bench/README.md, "Tenth round").

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python -m bench.statements sqlite 300

Runs, in one transaction per update and through the real functions: the journal's claim
(with the sender's row on PostgreSQL), the person, and the turn with two transcript rows
and one audit row (`--audit-rows` for more), on a scratch database. The count for one
update is the difference between the totals at two sizes (say 300 and 900) divided by
the difference in updates: the start-up cancels out. Instruction counts do not depend on
the machine's speed or on what else runs on it, so two commits can be told apart on a
noisy machine, where timing them cannot.
"""

from __future__ import annotations

import argparse
import asyncio

from bench.common import BACKENDS, scratch_database
from bot import audit
from bot.storage import journal, repositories, turns
from bot.storage.repositories import LoggedEvent

PEOPLE = 50  # the updates go round this many people, as a conversation's do


async def run(backend: str, updates: int, *, audit_rows: int = 1) -> None:
    async with scratch_database(backend) as scratch:
        for number in range(updates):
            telegram_user_id = 1_000 + number % PEOPLE
            async with scratch.storage.sessions() as session, session.begin():
                await journal.begin_handling(
                    session,
                    update_id=number + 1,
                    chat_id=telegram_user_id,
                    kind="callback_query",
                    telegram_user_id=telegram_user_id,
                )
                person = await repositories.get_or_create_person(
                    session, telegram_user_id=telegram_user_id, display_name="Ann", language="en"
                )
                await turns.save_turn(
                    session,
                    person_id=person.id,
                    step="goals",
                    data={"step": "goals", "answered": number},
                    actor_telegram_id=telegram_user_id,
                    actor_role="person",
                    events=[
                        LoggedEvent("in", "press", "goals", "yes"),
                        LoggedEvent("out", "message", "goals", "What matters to you?", {"t": 1}),
                    ],
                    audit_events=[
                        audit.AuditEvent(
                            "person",
                            telegram_user_id,
                            person.id,
                            "choice",
                            {"name": "goal", "n": n},
                        )
                        for n in range(audit_rows)
                    ],
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__)
    parser.add_argument("backend", choices=BACKENDS)
    parser.add_argument("updates", type=int, help="how many updates' statements to run")
    parser.add_argument(
        "--audit-rows", type=int, default=1, help="audit rows in each turn (1; 0 for none)"
    )
    args = parser.parse_args(argv)
    if args.updates < 1:
        parser.error("updates must be at least 1")
    if args.audit_rows < 0:
        parser.error("--audit-rows must be 0 or more")
    asyncio.run(run(args.backend, args.updates, audit_rows=args.audit_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
