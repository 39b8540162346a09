"""`codesign staff ...`: staff accounts for the dashboard, and their caseloads.

Passwords are typed at a prompt, or read from an environment variable for scripts
(`--password-env VAR`); never taken on the command line, where `ps` and shell history
would keep them.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
from typing import Any

from bot import audit
from bot.commands import CommandError
from bot.commands._runtime import storage_for
from bot.config import Settings, load_settings
from bot.dashboard import store
from bot.runtime import configure_logging
from bot.storage.models import Person
from bot.storage.staff import ROLES


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "staff", help="staff accounts for the dashboard", description="Staff accounts."
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="add a staff account (the password is asked for)",
        allow_abbrev=False,  # `--password SECRET` must not pass for --password-env
        description="Add a staff account. The password is asked for at a prompt, or read "
        "from the environment variable named by --password-env.",
    )
    add.add_argument("--email", required=True, help="the person's work email address")
    add.add_argument("--role", required=True, choices=ROLES, help="what the account may do")
    add.add_argument(
        "--password-env", metavar="VAR", help="read the password from this environment variable"
    )
    add.set_defaults(handler=run_add)
    assign = actions.add_parser("assign", help="put a person on a caseworker's caseload")
    assign.add_argument("--email", required=True, help="the caseworker's email address")
    assign.add_argument("--person", type=int, required=True, metavar="ID", help="the person's id")
    assign.set_defaults(handler=run_assign)
    listing = actions.add_parser("list", help="list the staff accounts")
    listing.set_defaults(handler=run_list)
    parser.set_defaults(handler=lambda _args: parser.print_help() or 2)


def _password(args: argparse.Namespace) -> str:
    if args.password_env:
        password = os.environ.get(args.password_env)
        if password is None:
            raise CommandError(f"--password-env: the variable {args.password_env} is not set")
        return password
    password = getpass.getpass("Password for the new account: ")
    if getpass.getpass("The same password again: ") != password:
        raise CommandError("the two passwords are not the same")
    return password


def run_add(args: argparse.Namespace) -> int:
    password = _password(args)
    settings = load_settings()
    configure_logging(settings, quiet=True)
    staff_id = asyncio.run(_add(settings, args.email, args.role, password))
    print(f"Staff account {staff_id}: {store.normalise_email(args.email)} ({args.role})")
    return 0


async def _add(settings: Settings, email: str, role: str, password: str) -> int:
    async with (
        storage_for(settings, apply_migrations=True) as storage,
        storage.sessions() as session,
        session.begin(),
    ):
        try:
            staff_id = await store.add_staff(session, email=email, role=role, password=password)
        except store.AccountError as error:
            raise CommandError(str(error)) from None
        await audit.record(
            session,
            actor_kind="staff",
            actor_id="command-line",
            subject_person_id=None,
            action="staff_account_added",
            detail={"staff": staff_id, "role": role},
        )
        return staff_id


def run_assign(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings, quiet=True)
    added = asyncio.run(_assign(settings, args.email, args.person))
    where = "added to" if added else "already on"
    print(f"Person {args.person} {where} the caseload of {store.normalise_email(args.email)}")
    return 0


async def _assign(settings: Settings, email: str, person_id: int) -> bool:
    async with (
        storage_for(settings, apply_migrations=True) as storage,
        storage.sessions() as session,
        session.begin(),
    ):
        account = await store.staff_by_email(session, email=email)
        if account is None:
            raise CommandError(f"--email: there is no staff account for {email}")
        if account.role != "caseworker":
            raise CommandError(f"--email: {email} is a {account.role}, not a caseworker")
        if await session.get(Person, person_id) is None:
            raise CommandError(f"--person: there is no person with id {person_id}")
        added = await store.assign(session, staff_id=account.id, person_id=person_id)
        if added:
            await audit.record(
                session,
                actor_kind="staff",
                actor_id="command-line",
                subject_person_id=person_id,
                action="caseload_assigned",
                detail={"staff": account.id},
            )
        return added


def run_list(_args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings, quiet=True)
    for line in asyncio.run(_list(settings)):
        print(line)
    return 0


async def _list(settings: Settings) -> list[str]:
    async with storage_for(settings, apply_migrations=True) as storage, storage.sessions() as s:
        return [
            f"{a.id}\t{a.email}\t{a.role}\t{'active' if a.active else 'switched off'}"
            for a in await store.all_staff(s)
        ]
