"""`codesign db ...`: manage the database schema."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.commands._runtime import storage_for
from bot.config import Settings, load_settings
from bot.storage import migrate


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "db", help="manage the database", description="Manage the database."
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="bring the database up to the latest schema")
    upgrade.set_defaults(handler=run_upgrade)
    current = actions.add_parser("current", help="show the schema revision the database is at")
    current.set_defaults(handler=run_current)
    parser.set_defaults(handler=lambda _args: parser.print_help() or 2)


def run_upgrade(_args: argparse.Namespace) -> int:
    settings = load_settings()
    revision = asyncio.run(_upgrade(settings))
    where = settings.database.render_as_string(hide_password=True)
    print(f"Database {where} is at revision {revision} (latest {migrate.head_revision()}).")
    return 0


async def _upgrade(settings: Settings) -> str | None:
    async with storage_for(settings, apply_migrations=True) as storage:
        return await migrate.revision_of(storage.engine)


def run_current(_args: argparse.Namespace) -> int:
    settings = load_settings()
    revision = asyncio.run(_current(settings))
    print(f"{revision or 'empty (run: codesign db upgrade)'}; latest is {migrate.head_revision()}")
    return 0


async def _current(settings: Settings) -> str | None:
    async with storage_for(settings, apply_migrations=False) as storage:
        return await migrate.revision_of(storage.engine)
