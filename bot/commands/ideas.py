"""`codesign suggest` and `codesign check`: support ideas for a goal, and the spending rules.

codesign suggest "TEXT" [--budget-left POUNDS] [--json] [--limit N]
codesign check "IDEA" [--cost POUNDS --per week|month|year|session|one-off] [--json]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.commands import CommandError
from dialogs.ideas import (
    CatalogueError,
    Suggestion,
    check_idea,
    load_catalogue,
    load_spending_rules,
    suggest,
)
from formula.money import format_pounds, parse_pounds
from formula.pricing import Cost, Frequency, annual_pence, weekly_pence

_PER = {
    "week": Frequency.PER_WEEK,
    "month": Frequency.PER_MONTH,
    "year": Frequency.PER_YEAR,
    "session": Frequency.PER_SESSION,
    "one-off": Frequency.ONE_OFF,
}
MAX_LIMIT = 50


def register(subparsers: Any) -> None:
    """Add the `suggest` and `check` commands to the `codesign` command line."""
    suggest_parser: argparse.ArgumentParser = subparsers.add_parser(
        "suggest",
        help="suggest support ideas for a goal",
        description="Suggest support ideas from the shipped catalogue for a goal in your words.",
    )
    suggest_parser.add_argument("text", help='the goal, e.g. "I want to get out more"')
    suggest_parser.add_argument(
        "--budget-left", metavar="POUNDS", help="what is left of the yearly budget, e.g. 1200"
    )
    suggest_parser.add_argument("--limit", type=int, default=5, help="how many ideas (default 5)")
    suggest_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    suggest_parser.set_defaults(handler=run_suggest)

    check_parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="check an idea against the spending rules",
        description="Say whether a personal budget can pay for an idea, and why.",
    )
    check_parser.add_argument("idea", help='the idea, e.g. "a dance class"')
    check_parser.add_argument("--cost", metavar="POUNDS", help="what it costs, e.g. 8.50")
    check_parser.add_argument("--per", choices=sorted(_PER), help="how often the cost is paid")
    check_parser.add_argument("--json", action="store_true", help="print the result as JSON")
    check_parser.set_defaults(handler=run_check)


def _text(value: str, what: str) -> str:
    if not value.strip():
        raise CommandError(f"{what} is empty: write it in a few words")
    return value.strip()


def _pounds(value: str, option: str) -> int:
    try:
        return parse_pounds(value)
    except ValueError as error:
        raise CommandError(f"{option}: {error}") from None


def _suggestion_dict(suggestion: Suggestion) -> dict[str, Any]:
    item = suggestion.item
    return {
        "id": item.id,
        "name": item.name,
        "name_cy": item.name_cy,
        "kind": item.kind.value,
        "weekly_pence": suggestion.weekly_pence,
        "annual_pence": suggestion.annual_pence,
        "fits_budget": suggestion.fits_budget,
        "alternative_to": suggestion.alternative_to,
        "why": suggestion.why.sentence,
        "matched": [
            {"quote": m.quote, "concept": m.concept_id, "label": m.label}
            for m in suggestion.why.matched
        ],
    }


def run_suggest(args: argparse.Namespace) -> int:
    text = _text(args.text, "the goal")
    if not 1 <= args.limit <= MAX_LIMIT:
        raise CommandError(f"--limit must be between 1 and {MAX_LIMIT}, got {args.limit}")
    budget_left = None if args.budget_left is None else _pounds(args.budget_left, "--budget-left")
    try:
        catalogue = load_catalogue()
    except CatalogueError as error:
        raise CommandError(str(error)) from None
    result = suggest(text, catalogue, budget_left_pence=budget_left, limit=args.limit)
    if args.json:
        payload = {
            "goal": text,
            "areas": [a.value for a in result.areas],
            "suggestions": [_suggestion_dict(s) for s in result.items],
            "cheaper_options": [_suggestion_dict(s) for s in result.cheaper_options],
            "has_more": result.has_more,
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    if not result.items:
        print("No ideas matched that goal yet. Try saying a little more about what you want.")
        return 0
    print("Wellbeing areas: " + ", ".join(a.value for a in result.areas[:3]))
    for n, s in enumerate(result.items, 1):
        _print_suggestion(n, s)
    if result.cheaper_options:
        print("Cheaper options that fit what is left:")
        for n, s in enumerate(result.cheaper_options, 1):
            _print_suggestion(n, s)
    return 0


def _print_suggestion(number: int, s: Suggestion) -> None:
    fit = {None: "", True: "  (fits)", False: "  (does not fit what is left)"}[s.fits_budget]
    print(
        f"{number}. {s.item.name}: {format_pounds(s.weekly_pence)} a week, "
        f"{format_pounds(s.annual_pence)} a year{fit}"
    )
    print(f"   {s.why.sentence}")


def run_check(args: argparse.Namespace) -> int:
    idea = _text(args.idea, "the idea")
    cost: Cost | None = None
    if args.per is not None and args.cost is None:
        raise CommandError("--per needs --cost: give the cost as well, e.g. --cost 8 --per week")
    if args.cost is not None:
        if args.per is None:
            raise CommandError("--cost needs --per (week, month, year, session or one-off)")
        cost = Cost(_pounds(args.cost, "--cost"), _PER[args.per])
    try:
        rules = load_spending_rules()
    except CatalogueError as error:
        raise CommandError(str(error)) from None
    verdict = check_idea(idea, cost=cost, rules=rules)
    if args.json:
        payload: dict[str, Any] = {
            "idea": idea,
            "verdict": verdict.verdict.value,
            "reason": verdict.reason,
            "rule_id": verdict.rule_id,
            "matched": verdict.quote,
        }
        if cost is not None:
            payload["annual_pence"] = annual_pence(cost)
            payload["weekly_pence"] = weekly_pence(cost)
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    label = {
        "allowed": "Allowed",
        "needs_approval": "Needs panel approval",
        "not_allowed": "Not allowed",
    }[verdict.verdict.value]
    print(f"{label}: {verdict.reason}")
    if cost is not None:
        print(
            f"Cost: {format_pounds(weekly_pence(cost))} a week, "
            f"{format_pounds(annual_pence(cost))} a year"
        )
    return 0
