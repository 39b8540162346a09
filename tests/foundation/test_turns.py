"""The end of a turn (bot.storage.turns): one statement on PostgreSQL, three writes elsewhere.

Each turn is written twice, for two people: by `save_turn` and by the three writes it
stands for (`save_conversation`, `log_events`, `audit.record_all`). The rows they leave
must be the same, the transcript in the order given, and the audit chain must hold.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.runtime import Storage
from bot.storage import repositories, turns
from bot.storage.models import AuditEntry, Person
from bot.storage.repositories import LoggedEvent

STATE = {"step": "goal_ask", "goals": ["Clwb garddio – “fy un i”"], "n": 3, "none": None}
EVENTS = [
    LoggedEvent("in", "text", "goal_ask", "Mynd i'r clwb garddio gyda fy ŵyr"),
    LoggedEvent("out", "message", "goal_ask", '<b>Diolch</b>, {braces} "quotes" \\ back'),
    LoggedEvent("choice", "choice", "goal_ask", "goal", {"before": None, "after": {"x": [1, 2]}}),
]


def _audited(user: int, person_id: int, count: int) -> list[audit.AuditEvent]:
    return [
        audit.AuditEvent("person", user, person_id, "choice", {"name": "goal", "n": n})
        for n in range(count)
    ]


async def _person(session: AsyncSession, user: int) -> int:
    found = await repositories.get_or_create_person(
        session, telegram_user_id=user, display_name=f"Person {user}", language="en"
    )
    return found.id


async def _one_turn(
    session: AsyncSession,
    user: int,
    events: list[LoggedEvent],
    audit_count: int,
    *,
    role: str = "person",
    as_three_writes: bool = False,
    person_id: int | None = None,
) -> None:
    """A turn by `save_turn`, or by the three writes it stands for; given `person_id`, a
    carer's turn for that person, whose row nothing has locked before the turn."""
    if person_id is None:
        person_id = await _person(session, user)
    audited = _audited(user, person_id, audit_count)
    if as_three_writes:
        await repositories.save_conversation(
            session, person_id=person_id, step="goal_ask", data=STATE
        )
        await repositories.log_events(
            session, person_id=person_id, actor_telegram_id=user, events=events, actor_role=role
        )
        await audit.record_all(session, audited, person_chain=person_id)
        return
    await turns.save_turn(
        session,
        person_id=person_id,
        step="goal_ask",
        data=STATE,
        actor_telegram_id=user,
        actor_role=role,
        events=events,
        audit_events=audited,
    )


async def _rows(session: AsyncSession, table: str, where: str, value: Any) -> list[dict[str, Any]]:
    """Rows as stored, less what differs between two people (ids, moments, hashes)."""
    own = {"id", "telegram_user_id", "display_name", "person_id", "actor_telegram_id"}
    own |= {"subject_person_id", "actor_id", "hash", "prev_hash", "chain_person_id"}
    own.add("audit_last_hash")  # their own chains' heads (`audit.verify` checks them)
    query = text(f"SELECT * FROM {table} WHERE {where} = :value ORDER BY id")
    return [
        {
            name: type(value) if name.endswith("_at") else value
            for name, value in row._mapping.items()
            if name not in own
        }
        for row in await session.execute(query, {"value": value})
    ]


def _json(value: Any) -> Any:
    """A JSON column read by text(): SQLite gives its text, PostgreSQL the value."""
    return json.loads(value) if isinstance(value, str) else value


async def _audit_rows(storage: Storage) -> int:
    async with storage.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


@pytest.mark.parametrize("audit_count", [0, 1, 2, 3])
async def test_a_turn_stores_what_its_three_writes_store(
    storage: Storage, audit_count: int
) -> None:
    async with storage.sessions() as session, session.begin():
        await audit.record(
            session, actor_kind="staff", actor_id="s", subject_person_id=None, action="login"
        )  # a row before the turn's: its hash is the one the turn's row follows
    async with storage.sessions() as session, session.begin():
        await _one_turn(session, 1, EVENTS, audit_count, role="carer")
    async with storage.sessions() as session, session.begin():
        await _one_turn(session, 2, EVENTS, audit_count, role="carer", as_three_writes=True)
    async with storage.sessions() as session:
        for table, where, key in (
            ("people", "telegram_user_id", lambda user: user),
            ("conversation_events", "actor_telegram_id", lambda user: user),
            ("audit_log", "actor_id", lambda user: str(user)),
        ):
            one, three = [await _rows(session, table, where, key(user)) for user in (1, 2)]
            assert one == three, table
            if table != "audit_log" or audit_count:
                assert one, table
            if table == "audit_log":  # in the order given, both ways
                details = [_json(row["detail"]) for row in one]
                assert [detail["n"] for detail in details] == list(range(audit_count))
        logged = await repositories.conversation_log(session, person_id=await _person(session, 1))
        verification = await audit.verify(session)
    assert logged == EVENTS
    assert verification.ok and verification.checked == 1 + 2 * audit_count


@pytest.mark.parametrize("audit_count", [1, 2])
async def test_a_turns_rows_go_on_the_persons_own_chain(storage: Storage, audit_count: int) -> None:
    """Each turn's rows follow the person's newest row, whose hash their record keeps; the
    log-wide chain, and its head, are left alone (even without the head row)."""
    async with storage.sessions() as session, session.begin():
        await audit.record(
            session, actor_kind="staff", actor_id="s", subject_person_id=None, action="login"
        )
        await session.execute(text("DELETE FROM audit_head"))
    for _ in range(2):
        async with storage.sessions() as session, session.begin():
            await _one_turn(session, 1, EVENTS, audit_count)
    async with storage.sessions() as session:
        person_id = await _person(session, 1)
        logged = await repositories.conversation_log(session, person_id=person_id)
        state = await repositories.person_state(session, person_id=person_id)
        rows = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        head = await session.scalar(select(Person.audit_last_hash).where(Person.id == person_id))
        heads = await session.scalar(text("SELECT count(*) FROM audit_head"))
        verification = await audit.verify(session)
    assert logged == EVENTS + EVENTS
    assert (state.step, dict(state.data)) == ("goal_ask", STATE)
    login, *turns_rows = rows
    assert login.chain_person_id is None and heads == 0
    assert [row.chain_person_id for row in turns_rows] == [person_id] * 2 * audit_count
    assert [row.prev_hash for row in turns_rows] == [
        audit.GENESIS,
        *(row.hash for row in turns_rows[:-1]),
    ]
    assert head == turns_rows[-1].hash
    assert verification.ok and verification.checked == 1 + 2 * audit_count
    assert verification.chains == 2


@pytest.mark.parametrize("audit_count", [1, 2])
async def test_without_the_logs_head_staff_rows_are_appended_once(
    storage: Storage, audit_count: int
) -> None:
    """The migration makes the log-wide head; a log without one (its row deleted) gets it
    back, and the rows are appended once."""
    async with storage.sessions() as session, session.begin():
        await session.execute(text("DELETE FROM audit_head"))
    events = [
        audit.AuditEvent("staff", "s", None, "plan_viewed", {"n": n}) for n in range(audit_count)
    ]
    async with storage.sessions() as session, session.begin():
        await audit.record_all(session, events)
    async with storage.sessions() as session:
        verification = await audit.verify(session)
        heads = await session.scalar(text("SELECT count(*) FROM audit_head"))
    assert verification.ok and verification.checked == audit_count and heads == 1
    assert await _audit_rows(storage) == audit_count


async def test_a_turn_rolls_back_whole(storage: Storage) -> None:
    async with storage.sessions() as session, session.begin():
        await audit.record(
            session, actor_kind="staff", actor_id="s", subject_person_id=None, action="login"
        )
        person_id = await _person(session, 1)
    async with storage.sessions() as session:
        await _one_turn(session, 1, EVENTS, 1)
        await session.rollback()
    async with storage.sessions() as session:
        logged = await repositories.conversation_log(session, person_id=person_id)
        state = await repositories.person_state(session, person_id=person_id)
        verification = await audit.verify(session)
    assert logged == [] and state.step == "new"
    assert verification.ok and verification.checked == 1


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_concurrent_turns_keep_the_audit_chains(storage: Storage) -> None:
    """Turns at once, each appending in its own statement: of different people, and of
    the same people from two transactions each, the person's and a carer's."""
    async with storage.sessions() as session, session.begin():
        await audit.record(
            session, actor_kind="staff", actor_id="s", subject_person_id=None, action="login"
        )
        people = {user: await _person(session, user) for user in range(1, 9)}

    async def turn(user: int, *, carer: bool) -> None:
        async with storage.sessions() as session, session.begin():
            subject = people[user] if carer else None
            await _one_turn(session, user, EVENTS, 1 + user % 3, person_id=subject)

    await asyncio.gather(*(turn(user, carer=carer) for user in people for carer in (False, True)))
    async with storage.sessions() as session:
        verification = await audit.verify(session)
    assert verification.ok, verification.problem
    assert verification.checked == 1 + 2 * sum(1 + u % 3 for u in range(1, 9))
    assert verification.chains == 9


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_persons_turn_does_not_wait_for_another_persons(storage: Storage) -> None:
    """Only the person's own row is locked for their audit rows: while one person's turn is
    not yet committed, another person's audited turn goes through (before revision 0006 it
    waited for the log's one head row), and the same person's waits for it."""
    async with storage.sessions() as session, session.begin():
        ann = await _person(session, 1)
        await _person(session, 2)
    async with storage.sessions() as first, first.begin():
        await _one_turn(first, 1, EVENTS, 1)
        async with storage.sessions() as other, other.begin():
            await other.execute(text("SET LOCAL lock_timeout = '3s'"))
            await _one_turn(other, 2, EVENTS, 2)  # raises if it waits for the first
        # A carer's turn for the person: nothing locks the row before the turn's statement.
        same = asyncio.create_task(turn_of(storage, 1, person_id=ann))
        await asyncio.sleep(0.5)
        assert not same.done()  # the person's own next turn waits
    await asyncio.wait_for(same, 10)
    async with storage.sessions() as session:
        verification = await audit.verify(session)
    assert verification.ok and verification.checked == 1 + 2 + 1


async def turn_of(storage: Storage, user: int, *, person_id: int) -> None:
    async with storage.sessions() as session, session.begin():
        await _one_turn(session, user, EVENTS, 1, person_id=person_id)


# What PostgreSQL's text takes: no NUL, no half of a surrogate pair.
_characters = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_texts = st.text(_characters)
_details = st.dictionaries(
    st.text(_characters, min_size=1, max_size=5),
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _texts,
    max_size=3,
)


@pytest.mark.parametrize("backend", ["postgresql"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bodies=st.lists(st.tuples(_texts, _details), min_size=1, max_size=40),
)
async def test_the_transcript_is_stored_as_given_in_order(
    storage: Storage, bodies: list[tuple[str, dict[str, Any]]]
) -> None:
    events = [LoggedEvent("in", "text", "goal_ask", body, detail) for body, detail in bodies]
    async with storage.sessions() as session, session.begin():
        user = 1_000 + await session.scalar(text("SELECT count(*) FROM people"))
        await _one_turn(session, user, events, 0)
    async with storage.sessions() as session:
        person_id = await _person(session, user)
        logged = await repositories.conversation_log(session, person_id=person_id)
    assert logged == events
