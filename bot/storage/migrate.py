"""Apply Alembic migrations from inside the application (`codesign db upgrade`, local modes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> str | None:
    """Bring the database up to `revision`; returns the revision it is at afterwards."""
    return await _migrate(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> str | None:
    """Take the database back to `revision`, in one transaction (a downgrade that refuses
    leaves it as it was); returns the revision it is at afterwards."""
    return await _migrate(engine, command.downgrade, revision)


async def _migrate(
    engine: AsyncEngine, step: Callable[[Config, str], None], revision: str
) -> str | None:
    def run(connection: Connection) -> str | None:
        config = alembic_config()
        config.attributes["connection"] = connection
        step(config, revision)
        return current_revision(connection)

    async with engine.begin() as connection:
        return await connection.run_sync(run)


async def revision_of(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(current_revision)
