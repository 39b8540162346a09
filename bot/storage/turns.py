"""The end of a turn: the person's new state, the transcript rows and the audit rows.

Every update ends with these writes. On SQLite they are the statements of
`repositories.save_conversation`, `repositories.log_events` and `audit.record_all` (on the
person's own chain), each a few microseconds on the event loop's own connection. On
PostgreSQL each statement is a round trip to the server, and an update made seven
(bench/README.md, "Eighth round"): there the three are one statement of data-modifying
parts, which PostgreSQL runs to completion whether or not the statement reads what they
return:

    WITH -- with audit rows, `audit.person_appending`'s parts (for more than one row,
         -- given AS (unnest ..) and a recursive chain AS (..) that hashes them in turn):
         person_head AS (SELECT audit_last_hash .. FROM people WHERE id = .. FOR UPDATE),
         appended AS (INSERT INTO audit_log (..) SELECT .. FROM person_head ..),
         saved AS (UPDATE people SET step = .., conversation = ..,
                   audit_last_hash = (the newest of appended) WHERE id = ..),
         logged AS (INSERT INTO conversation_events (..)
                    SELECT value ->> 0, .. FROM json_array_elements(events) WITH ORDINALITY ..)
    SELECT count(*) FROM logged

The transcript rows come as one JSON array of rows, in order (ORDER BY their ordinality:
their ids follow the conversation): one value to write and to send, where five arrays
(one per column) cost the update 3% of its instructions in SQLAlchemy's and asyncpg's
array handling (bench/README.md, "Nineteenth round"). Each detail is stored as its text
in that array. The audit rows, when there are more than one, come in one array per
column. Their chain is the person's own: its head is the row the turn saves anyway, so no
other row is locked (bench/README.md, "Seventeenth round").
tests/foundation/test_turns.py writes turns both ways and compares the stored rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    String,
    bindparam,
    column,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import JSON as PG_JSON
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.storage import direct, repositories
from bot.storage.engine import JsonText, json_param
from bot.storage.models import ConversationEvent, Person, table_of, utcnow
from bot.storage.repositories import LoggedEvent


async def save_turn(
    session: AsyncSession,
    *,
    person_id: int,
    step: str,
    data: Mapping[str, Any] | JsonText,
    actor_telegram_id: int | None,
    actor_role: str,
    events: Sequence[LoggedEvent],
    audit_events: Sequence[audit.AuditEvent],
) -> None:
    """Store where `person_id` is now (`step`, `data`), log `events` in their transcript as
    said by `actor_telegram_id` in `actor_role`, and append `audit_events` to the audit log."""
    if session.get_bind().dialect.name != "postgresql" or not events:
        await repositories.save_conversation(session, person_id=person_id, step=step, data=data)
        await repositories.log_events(
            session,
            person_id=person_id,
            actor_telegram_id=actor_telegram_id,
            events=events,
            actor_role=actor_role,
        )
        await audit.record_all(session, audit_events, person_chain=person_id)
        return
    now = utcnow()
    params: dict[str, Any] = {
        "p_person_id": person_id,
        "p_step": step,
        "p_data": json_param(data),
        "p_now": now,
        "p_actor_telegram_id": actor_telegram_id,
        "p_actor_role": actor_role,
        "p_events": [
            [event.direction, event.kind, event.step, event.body, dict(event.detail)]
            for event in events
        ],
    }
    if not audit_events:
        await direct.execute(session, _TURN, params)
        return
    params.update(audit.append_params(audit_events))
    await direct.execute(session, _AUDITED_TURNS[len(audit_events) == 1], params)


def _turn_parts(*, audited_one: bool | None = None) -> tuple[Any, Any]:
    """PostgreSQL: the state saved and the transcript rows inserted, as two CTEs; with
    `audited_one` (True for one audit row, False for more), the audit rows appended to the
    person's chain, whose newest hash the saved row keeps."""
    people, events = table_of(Person), table_of(ConversationEvent)
    now = bindparam("p_now", type_=DateTime(timezone=True))
    person_id = bindparam("p_person_id", type_=Integer)
    state = {"step": bindparam("p_step"), "conversation": bindparam("p_data"), "updated_at": now}
    if audited_one is not None:
        state["audit_last_hash"] = audit.person_appending(person_id, one=audited_one)
    saved = (
        sa_update(people)
        .where(people.c.id == person_id)
        .values(**state)
        .returning(people.c.id)
        .cte("saved")
    )
    given = (
        func.json_array_elements(bindparam("p_events", type_=PG_JSON))
        .table_valued(column("value", PG_JSON), with_ordinality="n")
        .render_derived(name="given")
    )
    # One transcript row, [direction, kind, step, body, detail]: its positions are
    # literals in the SQL, not parameters.
    direction, kind, step, body, detail = (
        given.c.value[literal_column(str(at), Integer)] for at in range(5)
    )
    logged = (
        insert(events)
        .from_select(
            [
                "person_id",
                "actor_telegram_id",
                "actor_role",
                "direction",
                "kind",
                "step",
                "body",
                "detail",
                "created_at",
            ],
            select(
                person_id,
                bindparam("p_actor_telegram_id", type_=BigInteger),
                bindparam("p_actor_role", type_=String),
                direction.astext,
                kind.astext,
                step.astext,
                body.astext,
                detail,
                now,
            ).order_by(given.c.n),
        )
        .returning(events.c.id)
        .cte("logged")
    )
    return saved, logged


def _turn(*, audited_one: bool | None = None) -> Any:
    saved, logged = _turn_parts(audited_one=audited_one)
    return select(func.count()).select_from(logged).add_cte(saved)


_TURN = _turn()
_AUDITED_TURNS = {one: _turn(audited_one=one) for one in (True, False)}
