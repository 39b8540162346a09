"""Start-up shared by every mode: settings checked, storage opened and migrated."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.storage import migrate
from bot.storage.engine import create_engine, session_factory, sqlite_file


@dataclass(frozen=True, slots=True)
class Storage:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # The dashboard's own engine on SQLite: their long reads (a search over every
    # transcript) run on aiosqlite's thread, where they cannot stall the chats, whose
    # short statements run on the event loop (see bot.storage.inline_sqlite).
    dashboard_engine: AsyncEngine | None = None

    @property
    def dashboard_sessions(self) -> async_sessionmaker[AsyncSession]:
        return (
            self.sessions
            if self.dashboard_engine is None
            else session_factory(self.dashboard_engine)
        )

    async def close(self) -> None:
        await self.engine.dispose()
        if self.dashboard_engine is not None:
            await self.dashboard_engine.dispose()


async def open_storage(settings: Settings, *, apply_migrations: bool) -> Storage:
    """Connect to the configured database, bringing its tables up to date if asked."""
    url = settings.database
    pool: dict[str, Any] = {}
    if url.get_backend_name() != "sqlite":  # SQLite keeps one connection (create_engine)
        pool["pool_size"] = settings.database_pool_size
    engine = create_engine(url, **pool)
    if apply_migrations:
        await migrate.upgrade(engine)
    dashboard_engine = None
    if sqlite_file(engine.url) is not None:
        dashboard_engine = create_engine(url, inline=False)
    return Storage(engine, session_factory(engine), dashboard_engine)


def configure_logging(settings: Settings, *, quiet: bool = False) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Libraries that narrate their internals at INFO (font subsetting for the PDF, plotting).
    for name in ("fontTools", "matplotlib", "PIL"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if quiet:
        for name in ("aiogram", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
