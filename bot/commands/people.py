"""`codesign people add`: set up a budget for someone and give them a one-time link code."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import audit
from bot.commands import CommandError
from bot.commands._runtime import storage_for
from bot.commands.budget import _load, _one_line
from bot.config import Settings, load_settings
from bot.runtime import configure_logging
from bot.storage import repositories
from bot.storage.models import Budget, Person
from dialogs.ports import Scope
from formula import AnswersError, allocate, load_answers
from formula.money import format_pounds, parse_pounds
from formula.pricing import weekly_from_annual


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "people", help="set up people and their budgets", description="Set up people."
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="set up a budget and print a one-time link code for the chat",
        description=(
            "Set up a budget for someone, from a set amount (--budget) or from a scheme and "
            "their answers (--scheme/--rules with --answers), and print a one-time code they "
            "type in the chat (step 3) to use it."
        ),
    )
    add.add_argument("--name", required=True, help="the person's name, as staff know them")
    add.add_argument("--budget", metavar="POUNDS", help="a set yearly amount, e.g. 5200 or 5200.50")
    add.add_argument("--scheme", metavar="ID", help="a shipped scheme id, e.g. adult-2026")
    add.add_argument("--rules", metavar="FILE", help="a council's rules file")
    add.add_argument("--answers", metavar="FILE", help="the person's answers (TOML)")
    add.add_argument(
        "--valid-days",
        type=int,
        metavar="DAYS",
        help="how long the code works (default: LINK_CODE_DAYS, 14)",
    )
    add.set_defaults(handler=run_add)
    carer = actions.add_parser(
        "link-carer",
        help="print a one-time invite code for a carer of a person",
        description="Staff link a carer: the carer types the code in the chat.",
    )
    carer.add_argument("--person", type=int, required=True, metavar="ID", help="the person's id")
    carer.add_argument(
        "--scope",
        required=True,
        choices=[scope.value for scope in Scope],
        help="view: see only; help: propose, the person confirms; full: act for them",
    )
    carer.set_defaults(handler=run_link_carer)
    erase = actions.add_parser(
        "erase",
        help="erase a person's conversation text (an erasure request), keeping agreed plans",
    )
    erase.add_argument("--person", type=int, required=True, metavar="ID", help="the person's id")
    erase.set_defaults(handler=run_erase)
    parser.set_defaults(handler=lambda _args: parser.print_help() or 2)


def _budget_from(args: argparse.Namespace) -> dict[str, Any]:
    if args.budget and (args.scheme or args.rules or args.answers):
        raise CommandError("give either --budget or --scheme/--rules with --answers, not both")
    if args.budget:
        try:
            annual = parse_pounds(args.budget)
        except ValueError as error:
            raise CommandError(f"--budget: {error}") from None
        return {"scheme_id": "set-amount", "annual_pence": annual, "explanation": {}}
    if not (args.scheme or args.rules) or not args.answers:
        raise CommandError("give --budget POUNDS, or --scheme ID (or --rules FILE) and --answers")
    scheme = _load(args)
    try:
        allocation = allocate(load_answers(args.answers), scheme)
    except AnswersError as error:
        raise CommandError(_one_line(error)) from None
    return {
        "scheme_id": scheme.id,
        "annual_pence": allocation.annual_pence,
        "contribution_annual_pence": allocation.contribution_annual_pence,
        "explanation": {
            "points": allocation.points,
            "lines": [line.as_dict() for line in allocation.lines],
        },
    }


def run_add(args: argparse.Namespace) -> int:
    if not args.name.strip():
        raise CommandError("--name must not be empty")
    if args.valid_days is not None and not 1 <= args.valid_days <= 365:
        raise CommandError("--valid-days must be between 1 and 365")
    budget = _budget_from(args)
    settings = load_settings()
    configure_logging(settings, quiet=True)
    days = args.valid_days or settings.link_code_days
    person_id, code = asyncio.run(_add(settings, args, budget, days))
    annual = int(budget["annual_pence"])
    print(f"Person {person_id}: {args.name.strip()}, budget {format_pounds(annual)} a year")
    print(f"Link code (works once, for {days} days): {code}")
    if settings.bot_username:
        print(f"Deep link: https://t.me/{settings.bot_username}?start={code.replace('-', '')}")
    print("Give it to the person; they type it in the chat when asked about their budget.")
    return 0


async def _add(
    settings: Settings, args: argparse.Namespace, budget: dict[str, Any], days: int
) -> tuple[int, str]:
    async with (
        storage_for(settings, apply_migrations=True) as storage,
        storage.sessions() as session,
        session.begin(),
    ):
        name = args.name.strip()
        person_id = await repositories.create_person(session, display_name=name)
        annual = int(budget["annual_pence"])
        session.add(
            Budget(
                person_id=person_id,
                scheme_id=str(budget["scheme_id"]),
                source="council",
                annual_pence=annual,
                weekly_pence=weekly_from_annual(annual),
                contribution_annual_pence=int(budget.get("contribution_annual_pence", 0)),
                answers={},
            )
        )
        code = await repositories.create_link_code(
            session,
            person_id=person_id,
            display_name=name,
            scheme_id=str(budget["scheme_id"]),
            annual_pence=annual,
            weekly_pence=weekly_from_annual(annual),
            contribution_annual_pence=int(budget.get("contribution_annual_pence", 0)),
            explanation=budget["explanation"],
            valid_for=timedelta(days=days),
        )
        await audit.record(
            session,
            actor_kind="staff",
            actor_id="command-line",
            subject_person_id=person_id,
            action="person_added",
            detail={"annual_pence": annual},
        )
        return person_id, code


def run_link_carer(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings, quiet=True)
    name, code = asyncio.run(_link_carer(settings, args.person, Scope(args.scope)))
    print(
        f"Carer invite for {name}'s plan ({args.scope}), works once for "
        f"{settings.link_code_days} days: {code}"
    )
    print('The carer chooses "Someone I care for" in the chat and types the code.')
    return 0


async def _person_or_error(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise CommandError(f"--person: there is no person with id {person_id}")
    return person


async def _link_carer(settings: Settings, person_id: int, scope: Scope) -> tuple[str, str]:
    async with (
        storage_for(settings, apply_migrations=True) as storage,
        storage.sessions() as session,
        session.begin(),
    ):
        person = await _person_or_error(session, person_id)
        code = await repositories.create_carer_invite(
            session,
            person_id=person_id,
            scope=scope.value,
            created_by="staff",
            valid_for=timedelta(days=settings.link_code_days),
        )
        await audit.record(
            session,
            actor_kind="staff",
            actor_id="command-line",
            subject_person_id=person_id,
            action="carer_invited",
            detail={"scope": scope.value},
        )
        return person.display_name, code


def run_erase(args: argparse.Namespace) -> int:
    settings = load_settings()
    configure_logging(settings, quiet=True)
    erased = asyncio.run(_erase(settings, args.person))
    print(f"Erased the text of {erased} messages of person {args.person}; plans kept.")
    return 0


async def _erase(settings: Settings, person_id: int) -> int:
    async with (
        storage_for(settings, apply_migrations=True) as storage,
        storage.sessions() as session,
        session.begin(),
    ):
        await _person_or_error(session, person_id)
        erased = await repositories.erase_person(session, person_id=person_id)
        await audit.record(
            session,
            actor_kind="staff",
            actor_id="command-line",
            subject_person_id=person_id,
            action="person_erased",
            detail={"messages": erased},
        )
        return erased
