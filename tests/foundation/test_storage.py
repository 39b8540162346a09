"""Storage on SQLite and PostgreSQL: migrations, money columns, SQLite settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import BigInteger, inspect, text
from sqlalchemy.exc import IntegrityError

from bot.runtime import Storage
from bot.storage import migrate
from bot.storage.engine import create_engine
from bot.storage.models import Base, Budget, Person


async def test_migrations_reach_head_and_match_the_models(storage: Storage) -> None:
    assert await migrate.revision_of(storage.engine) == migrate.head_revision()

    def tables(connection: object) -> set[str]:
        return set(inspect(connection).get_table_names())

    async with storage.engine.connect() as connection:
        found = await connection.run_sync(tables)
    assert set(Base.metadata.tables) <= found


async def test_migrating_twice_changes_nothing(storage: Storage) -> None:
    assert await migrate.upgrade(storage.engine) == migrate.head_revision()


def test_every_money_column_is_integer_pence() -> None:
    money = [c for t in Base.metadata.tables.values() for c in t.columns if "pence" in c.name]
    assert money, "expected money columns"
    assert all(isinstance(c.type, BigInteger) for c in money)


async def test_budget_in_pence_round_trips_exactly(storage: Storage) -> None:
    async with storage.sessions() as session, session.begin():
        ann = Person(telegram_user_id=5, display_name="Ann", language="en", conversation={})
        session.add(ann)
        await session.flush()
        session.add(
            Budget(
                person_id=ann.id,
                scheme_id="adult",
                source="estimate",
                annual_pence=1_234_567_891_01,
                weekly_pence=2_374_169_02,
            )
        )
    async with storage.sessions() as session:
        budget = (
            await session.execute(text("SELECT annual_pence, weekly_pence FROM budgets"))
        ).one()
    assert tuple(budget) == (1_234_567_891_01, 2_374_169_02)


async def test_foreign_keys_are_enforced(storage: Storage) -> None:
    with pytest.raises(IntegrityError):
        async with storage.sessions() as session, session.begin():
            session.add(
                Budget(
                    person_id=999_999,
                    scheme_id="x",
                    source="estimate",
                    annual_pence=1,
                    weekly_pence=1,
                )
            )


async def test_embedded_sqlite_uses_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'codesign.db'}")
    async with engine.connect() as connection:
        mode = await connection.scalar(text("PRAGMA journal_mode"))
        timeout = await connection.scalar(text("PRAGMA busy_timeout"))
        keys = await connection.scalar(text("PRAGMA foreign_keys"))
    await engine.dispose()
    assert (mode, keys) == ("wal", 1)
    assert timeout is not None and timeout >= 1000
    assert (tmp_path / "nested" / "codesign.db").exists()
