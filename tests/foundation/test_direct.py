"""What the update's statements store, straight on the inline SQLite driver and as JSON.

The same calls are made through the inline engine (the direct path) and through an
aiosqlite engine on the same file (SQLAlchemy's own execution); the rows they leave are
compared column by column, as stored: the values, SQLite's storage class of each, and the
text of dates and JSON.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import sqlite3
import weakref
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot import audit
from bot.runtime import Storage
from bot.storage import direct, journal, migrate, repositories
from bot.storage.engine import (
    create_engine,
    json_of,
    json_text,
    json_value,
    runs_inline,
    session_factory,
)
from bot.storage.inline_sqlite import inline_creator
from bot.storage.models import Person
from bot.storage.repositories import LoggedEvent
from dialogs.state import Budget, Conversation, Goal

_STORED_MOMENT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")


@pytest.fixture
async def engines(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine, Path]]:
    path = tmp_path / "codesign.db"
    inline = create_engine(f"sqlite+aiosqlite:///{path}")
    threaded = create_engine(f"sqlite+aiosqlite:///{path}", inline=False)
    await migrate.upgrade(inline)
    yield inline, threaded, path
    await inline.dispose()
    await threaded.dispose()


async def _one_update(session: AsyncSession, user: int) -> repositories.PersonState:
    """What an update writes, with values that test the conversions (dates, JSON, None)."""
    assert await journal.begin_handling(session, update_id=user, chat_id=user, kind="message")
    person = await repositories.get_or_create_person(
        session, telegram_user_id=user, display_name="Ann", language="cy"
    )
    state = {"step": "goal_ask", "goals": ["Clwb garddio – “fy un i”"], "n": 3, "none": None}
    await repositories.save_conversation(session, person_id=person.id, step="goal_ask", data=state)
    events = [
        LoggedEvent("in", "text", "goal_ask", "Mynd i'r clwb garddio gyda fy ŵyr"),
        LoggedEvent("out", "message", "goal_ask", "<b>Diolch</b>", {"template": "goal.ask"}),
        LoggedEvent("choice", "choice", "goal_ask", "goal", {"before": None, "after": "x"}),
    ]
    await repositories.log_events(
        session, person_id=person.id, actor_telegram_id=user, events=events
    )
    summary = {"budget_annual_pence": 703625, "planned_annual_pence": 26000, "items": []}
    summary |= {"management": "direct_payment", "note": "“fy un i”", "none": None}
    plan_id = await repositories.submit_plan(
        session, person_id=person.id, summary=summary, submitted_by_telegram_id=user
    )
    (plan,) = await repositories.plans_of(session, person_id=person.id)
    assert (plan.id, plan.summary, plan.status) == (plan_id, summary, "submitted")
    await audit.record_all(
        session,
        [
            audit.AuditEvent("person", user, person.id, "choice", {"name": "goal", "n": 1}),
            audit.AuditEvent("person", user, person.id, "plan_submitted", {"plan": 7}),
        ],
    )
    found = await repositories.person_by_telegram_id(session, telegram_user_id=user)
    assert found is not None
    return found


def _stored(path: Path, table: str, where: str, value: int) -> list[dict[str, Any]]:
    """Rows as SQLite holds them: each value with its storage class (integer, text, ...)."""
    with sqlite3.connect(path) as connection:
        connection.row_factory = sqlite3.Row
        columns = [r[1] for r in connection.execute(f"PRAGMA table_info({table})")]
        kinds = ", ".join(f"typeof({c}) AS {c}__type" for c in columns)
        query = f"SELECT *, {kinds} FROM {table} WHERE {where} = ? ORDER BY rowid"
        return [dict(row) for row in connection.execute(query, (value,))]


def _comparable(row: dict[str, Any], *, differs: set[str]) -> dict[str, Any]:
    """Dates as their shape (the moments differ); ids and the users' own values left out."""
    kept = {}
    for name, value in row.items():
        if name in differs:
            continue
        if name.endswith("_at") and value is not None:
            assert _STORED_MOMENT.fullmatch(value), f"{name}: {value!r}"
            value = "<moment>"
        kept[name] = value
    return kept


async def test_each_statement_stores_what_sqlalchemy_stores(
    engines: tuple[AsyncEngine, AsyncEngine, Path],
) -> None:
    inline, threaded, path = engines
    states = {}
    for user, engine in ((1, inline), (2, threaded)):
        async with session_factory(engine)() as session, session.begin():
            driver = await direct._driver(session)
            assert (driver is not None) == (engine is inline)  # both paths taken
            states[user] = await _one_update(session, user)
    own = {"id", "update_id", "chat_id", "telegram_user_id", "person_id", "actor_telegram_id"}
    own |= {"subject_person_id", "actor_id", "submitted_by_telegram_id"}
    for table, where, key in (
        ("telegram_updates", "update_id", lambda user: user),
        ("people", "telegram_user_id", lambda user: user),
        ("conversation_events", "actor_telegram_id", lambda user: user),
        ("audit_log", "actor_id", lambda user: str(user)),
        ("plans", "submitted_by_telegram_id", lambda user: user),
    ):
        direct_rows, sqlalchemy_rows = (_stored(path, table, where, key(u)) for u in (1, 2))
        assert direct_rows, table
        # The hashes differ (other moments, other people); verify() checks them below.
        differs = own | {"hash", "prev_hash"}
        assert [_comparable(r, differs=differs) for r in direct_rows] == [
            _comparable(r, differs=differs) for r in sqlalchemy_rows
        ], table
    assert replace(states[1], id=0, telegram_user_id=0) == replace(
        states[2], id=0, telegram_user_id=0
    )
    async with session_factory(threaded)() as session:
        verification = await audit.verify(session)
    assert verification.ok and verification.checked == 4  # the chain runs across both paths


async def test_a_handled_update_is_not_claimed_again_on_the_direct_path(
    engines: tuple[AsyncEngine, AsyncEngine, Path],
) -> None:
    inline, _, _ = engines
    sessions = session_factory(inline)
    for expected in (True, False):
        async with sessions() as session, session.begin():
            claimed = await journal.begin_handling(session, update_id=9, chat_id=9, kind="message")
            assert claimed is expected


async def test_objects_added_to_the_session_are_written_before_a_direct_statement(
    engines: tuple[AsyncEngine, AsyncEngine, Path],
) -> None:
    """The session's autoflush, kept: a direct statement sees what the session holds."""
    inline, _, _ = engines
    async with session_factory(inline)() as session, session.begin():
        session.add(Person(telegram_user_id=5, display_name="Ann", conversation={}))
        found = await repositories.person_by_telegram_id(session, telegram_user_id=5)
    assert found is not None and found.display_name == "Ann"


@pytest.mark.parametrize("change", ["changed", "deleted"])
async def test_changes_held_by_the_session_are_written_before_a_direct_statement(
    engines: tuple[AsyncEngine, AsyncEngine, Path], change: str
) -> None:
    """Autoflush for rows the session has changed or deleted, not only for new ones."""
    inline, _, _ = engines
    async with session_factory(inline)() as session, session.begin():
        session.add(Person(telegram_user_id=6, display_name="Bea", conversation={}))
    async with session_factory(inline)() as session, session.begin():
        person = await session.scalar(select(Person).where(Person.telegram_user_id == 6))
        assert person is not None
        if change == "changed":
            person.display_name = "Beatrice"
        else:
            await session.delete(person)
        found = await repositories.person_by_telegram_id(session, telegram_user_id=6)
    if change == "changed":
        assert found is not None and found.display_name == "Beatrice"
    else:
        assert found is None


async def test_direct_statements_commit_and_roll_back_with_the_session(
    engines: tuple[AsyncEngine, AsyncEngine, Path],
) -> None:
    inline, _, _ = engines
    async with session_factory(inline)() as session:
        await journal.begin_handling(session, update_id=1, chat_id=1, kind="message")
        await session.commit()
        await journal.begin_handling(session, update_id=2, chat_id=2, kind="message")
        await session.rollback()
        count = await session.scalar(text("SELECT count(*) FROM telegram_updates"))
    assert count == 1  # the first claim committed, the second rolled back with its session


async def test_a_direct_statement_waits_for_a_lock_held_elsewhere(
    engines: tuple[AsyncEngine, AsyncEngine, Path],
) -> None:
    inline, _, path = engines
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the dashboard writing: holds the write lock
    asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
    try:
        async with session_factory(inline)() as session, session.begin():
            assert await journal.begin_handling(session, update_id=3, chat_id=3, kind="text")
    finally:
        other.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT status FROM telegram_updates").fetchall() == [("done",)]


_INTEGERS = st.integers(min_value=-(2**63), max_value=2**64 - 1)


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | _INTEGERS
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text() | _INTEGERS | st.booleans(), inner, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_json_columns_hold_what_json_would(value: Any) -> None:
    """orjson writes the JSON columns: what comes back is what json.dumps/json.loads give."""
    assert json_value(json_text(value)) == json.loads(json.dumps(value))
    assert json_value(json.dumps(value)) == json.loads(json.dumps(value))  # rows written before


@pytest.mark.parametrize("huge", [2**64, -(2**63) - 1])
def test_an_integer_beyond_64_bits_is_refused_not_rounded(huge: int) -> None:
    with pytest.raises(ValueError, match="beyond 64 bits"):
        json_text({"goals": [{"id": huge}]})


_TEXT = st.text() | st.just("garden \ud83c")  # half a surrogate pair: orjson refuses it
_CONVERSATIONS = st.builds(
    Conversation,
    step=st.sampled_from(["goals", "plan"]),
    answers=st.dictionaries(st.text(max_size=8), _TEXT, max_size=3),
    goals=st.lists(
        st.builds(Goal, id=st.integers(), text=_TEXT, areas=st.lists(_TEXT, max_size=2))
    ),
    budget=st.none()
    | st.builds(
        Budget,
        source=st.just("estimate"),
        scheme_id=st.just("adult-2026"),
        annual_pence=_INTEGERS,
        weekly_pence=st.integers(0, 10**7),
        lines=st.lists(st.dictionaries(st.text(max_size=5), _INTEGERS | _TEXT), max_size=3),
    ),
)


@given(_CONVERSATIONS)
def test_the_state_is_written_as_its_plain_values_would_be(conversation: Conversation) -> None:
    """json_of writes the dataclass straight; the text is what json_text writes of to_data()."""
    try:
        expected: str | type[ValueError] = json_text(conversation.to_data())
    except ValueError:  # an integer beyond 64 bits: refused both ways
        expected = ValueError
    if expected is ValueError:
        with pytest.raises(ValueError, match="64 bits"):
            json_of(conversation, conversation.to_data)
        return
    written = json_of(conversation, conversation.to_data)
    assert written == expected and json_text(written) == expected
    assert Conversation.from_data(json_value(written)) == conversation


async def test_a_session_is_freed_without_the_garbage_collector(
    engines: tuple[AsyncEngine, AsyncEngine, Path],
) -> None:
    """What `direct` remembers of a transaction must not tie the session into a cycle.

    Each update's session would then wait for the collector (PostgreSQL lost a fifth of
    its throughput so); freed by reference counting, it goes as soon as it is closed.
    """
    for update_id, engine in enumerate(engines[:2], start=1):
        gc.disable()
        try:
            async with session_factory(engine)() as session, session.begin():
                await journal.begin_handling(
                    session, update_id=update_id, chat_id=1, kind="message"
                )
                freed = weakref.ref(session.sync_session)
            del session
            assert freed() is None
        finally:
            gc.enable()


async def test_only_the_bots_sqlite_engine_runs_inline(
    engines: tuple[AsyncEngine, AsyncEngine, Path],
) -> None:
    # The update middleware closes sessions in place only on an engine that cannot wait.
    inline, threaded, path = engines
    given_creator = create_engine(
        f"sqlite+aiosqlite:///{path}", async_creator=inline_creator(str(path))
    )
    postgres = create_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    try:
        assert runs_inline(inline)
        assert not runs_inline(threaded)
        assert not runs_inline(given_creator)  # someone else's creator: not known to be ours
        assert not runs_inline(postgres)
    finally:
        await given_creator.dispose()
        await postgres.dispose()


async def _rows_as_stored(session: AsyncSession, table: str, where: str, value: Any) -> list[Any]:
    query = text(f"SELECT * FROM {table} WHERE {where} = :value ORDER BY 1")
    return [dict(row._mapping) for row in await session.execute(query, {"value": value})]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_on_postgresql_each_statement_stores_what_sqlalchemy_stores(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with storage.sessions() as session, session.begin():
        assert await direct._driver(session) is not None  # BEGIN sent: every statement straight
        first = await _one_update(session, 1)
    monkeypatch.setattr(direct, "_driver", _sqlalchemy_only)
    async with storage.sessions() as session, session.begin():
        second = await _one_update(session, 2)
    monkeypatch.undo()
    assert replace(first, id=0, telegram_user_id=0) == replace(second, id=0, telegram_user_id=0)
    own = {"id", "update_id", "chat_id", "telegram_user_id", "person_id", "actor_telegram_id"}
    own |= {"subject_person_id", "actor_id", "submitted_by_telegram_id", "hash", "prev_hash"}
    async with storage.sessions() as session:
        for table, where, key in (
            ("telegram_updates", "update_id", lambda user: user),
            ("people", "telegram_user_id", lambda user: user),
            ("conversation_events", "actor_telegram_id", lambda user: user),
            ("audit_log", "actor_id", lambda user: str(user)),
            ("plans", "submitted_by_telegram_id", lambda user: user),
        ):
            straight, through = [
                [
                    {
                        name: type(value) if name.endswith("_at") else value
                        for name, value in row.items()
                        if name not in own
                    }
                    for row in await _rows_as_stored(session, table, where, key(user))
                ]
                for user in (1, 2)
            ]
            assert straight and straight == through, table
        verification = await audit.verify(session)
    assert verification.ok and verification.checked == 4


async def _sqlalchemy_only(session: AsyncSession) -> None:
    return None


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_on_postgresql_direct_statements_commit_and_roll_back_with_the_session(
    storage: Storage,
) -> None:
    async with storage.sessions() as session:
        await journal.begin_handling(session, update_id=1, chat_id=1, kind="message")
        await journal.begin_handling(session, update_id=2, chat_id=2, kind="message")
        assert await direct._driver(session) is not None  # the second claim went straight
        await session.commit()
        for update_id in (3, 4):
            await journal.begin_handling(session, update_id=update_id, chat_id=1, kind="message")
        await session.rollback()
        count = await session.scalar(text("SELECT count(*) FROM telegram_updates"))
    assert count == 2  # the first two committed, the two after rolled back with their session


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_on_postgresql_in_autocommit_statements_go_through_sqlalchemy(
    storage: Storage,
) -> None:
    """No transaction to begin: nothing is sent straight, and each statement stands alone."""
    autocommit = storage.engine.execution_options(isolation_level="AUTOCOMMIT")
    async with session_factory(autocommit)() as session:
        assert await direct._driver(session) is None
        await journal.begin_handling(session, update_id=1, chat_id=1, kind="message")
        await session.rollback()
    async with storage.sessions() as session:
        count = await session.scalar(text("SELECT count(*) FROM telegram_updates"))
    assert count == 1
