"""Start-up shared by every mode: settings checked, storage opened and migrated."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.storage import migrate
from bot.storage.engine import create_engine, session_factory


@dataclass(frozen=True, slots=True)
class Storage:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    async def close(self) -> None:
        await self.engine.dispose()


async def open_storage(settings: Settings, *, apply_migrations: bool) -> Storage:
    """Connect to the configured database, bringing its tables up to date if asked."""
    engine = create_engine(settings.database_url)
    if apply_migrations:
        await migrate.upgrade(engine)
    return Storage(engine, session_factory(engine))


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
