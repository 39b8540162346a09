"""Helpers shared by commands that open the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, OperationalError

from bot.commands import CommandError
from bot.config import Settings
from bot.runtime import Storage, open_storage


@asynccontextmanager
async def storage_for(settings: Settings, *, apply_migrations: bool) -> AsyncIterator[Storage]:
    """Open the configured database; a database that cannot be reached is one clear line."""
    where = settings.database.render_as_string(hide_password=True)
    try:
        storage = await open_storage(settings, apply_migrations=apply_migrations)
    except (OperationalError, DBAPIError, OSError) as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise CommandError(f"DATABASE_URL: cannot use the database {where}: {reason}") from None
    try:
        yield storage
    finally:
        await storage.close()
