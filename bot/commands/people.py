"""`codesign people add`: set up a budget for someone and give them a one-time link code."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from typing import Any

from bot.commands import CommandError
from bot.commands.budget import _load, _one_line
from bot.config import Settings, load_settings
from bot.runtime import configure_logging
from bot.storage import repositories
from formula import AnswersError, allocate, load_answers
from formula.money import format_pounds, parse_pounds
from formula.pricing import weekly_from_annual

DEFAULT_VALID_DAYS = 14


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
        default=DEFAULT_VALID_DAYS,
        metavar="DAYS",
        help=f"how long the code works (default {DEFAULT_VALID_DAYS})",
    )
    add.set_defaults(handler=run_add)
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
    if not 1 <= args.valid_days <= 365:
        raise CommandError("--valid-days must be between 1 and 365")
    budget = _budget_from(args)
    settings = load_settings()
    configure_logging(settings, quiet=True)
    code = asyncio.run(_add(settings, args, budget))
    annual = int(budget["annual_pence"])
    print(f"Budget for {args.name.strip()}: {format_pounds(annual)} a year")
    print(f"Link code (works once, for {args.valid_days} days): {code}")
    print("Give it to the person; they type it in the chat when asked about their budget.")
    return 0


async def _add(settings: Settings, args: argparse.Namespace, budget: dict[str, Any]) -> str:
    from bot.commands._runtime import storage_for

    async with (
        storage_for(settings, apply_migrations=True) as storage,
        storage.sessions() as session,
        session.begin(),
    ):
        return await repositories.create_link_code(
            session,
            display_name=args.name.strip(),
            scheme_id=str(budget["scheme_id"]),
            annual_pence=int(budget["annual_pence"]),
            weekly_pence=weekly_from_annual(int(budget["annual_pence"])),
            contribution_annual_pence=int(budget.get("contribution_annual_pence", 0)),
            explanation=budget["explanation"],
            valid_for=timedelta(days=args.valid_days),
        )
