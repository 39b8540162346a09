"""`codesign audit verify` and `codesign retention run`: keeping the records honest and lean."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import timedelta
from typing import Any

from bot import audit
from bot.commands import CommandError
from bot.commands._runtime import storage_for
from bot.config import Settings, load_settings
from bot.runtime import configure_logging
from bot.storage import repositories
from bot.storage.models import utcnow

EXIT_BROKEN = 1


def register(subparsers: Any) -> None:
    audit_parser = subparsers.add_parser(
        "audit", help="check the audit log", description="Check the audit log."
    )
    audit_actions = audit_parser.add_subparsers(title="actions", metavar="ACTION")
    verify = audit_actions.add_parser(
        "verify", help="check the hash chains; name the first broken row (exit 1 if broken)"
    )
    verify.set_defaults(handler=run_verify)
    audit_parser.set_defaults(handler=lambda _args: audit_parser.print_help() or 2)

    retention = subparsers.add_parser(
        "retention", help="erase old conversation text", description="Apply the retention policy."
    )
    retention_actions = retention.add_subparsers(title="actions", metavar="ACTION")
    run = retention_actions.add_parser(
        "run",
        help="erase conversation text older than RETENTION_DAYS, keeping plans and the audit log",
    )
    run.add_argument("--days", type=int, help="override RETENTION_DAYS for this run")
    run.set_defaults(handler=run_retention)
    retention.set_defaults(handler=lambda _args: retention.print_help() or 2)


def run_verify(_args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings, quiet=True)
    result = asyncio.run(_verify(settings))
    if result.ok:
        chains = "1 chain" if result.chains == 1 else f"{result.chains} chains"
        print(f"Audit log intact: {result.checked} rows checked, on {chains}.")
        return 0
    print(f"Audit log BROKEN after {result.checked} good rows: {result.problem}.")
    return EXIT_BROKEN


async def _verify(settings: Settings) -> audit.Verification:
    async with (
        storage_for(settings, apply_migrations=False) as storage,
        storage.sessions() as session,
    ):
        return await audit.verify(session, progress=_Progress())


class _Progress:
    """How far the walk is, on standard error every few seconds (a council's log of a
    million rows takes about 20 seconds); nothing for a walk quicker than that."""

    EVERY_SECONDS = 3.0

    def __init__(self) -> None:
        self._next = time.monotonic() + self.EVERY_SECONDS

    def __call__(self, checked: int, total: int) -> None:
        now = time.monotonic()
        if now < self._next or not total:
            return
        self._next = now + self.EVERY_SECONDS
        share = min(100, checked * 100 // total)
        print(f"Checked {checked:,} of {total:,} rows ({share}%) ...", file=sys.stderr, flush=True)


def run_retention(args: argparse.Namespace) -> int:
    settings = load_settings()
    days = settings.retention_days if args.days is None else args.days
    if days < 1:
        raise CommandError("--days must be at least 1")
    configure_logging(settings, quiet=True)
    erased = asyncio.run(_retention(settings, days))
    print(
        f"Retention ({days} days): erased the text of {erased} messages; "
        "plans and the audit log are kept."
    )
    return 0


async def _retention(settings: Settings, days: int) -> int:
    async with (
        storage_for(settings, apply_migrations=True) as storage,
        storage.sessions() as session,
        session.begin(),
    ):
        erased = await repositories.erase_conversation_text(
            session, older_than=utcnow() - timedelta(days=days)
        )
        await audit.record(
            session,
            actor_kind="system",
            actor_id="retention",
            subject_person_id=None,
            action="retention_run",
            detail={"days": days, "messages": erased},
        )
        return erased
