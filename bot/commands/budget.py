"""`codesign budget`: work out an indicative budget from a rules file and an answers file.

codesign budget --list
codesign budget --rules FILE --check          (or --scheme ID --check)
codesign budget --rules FILE --answers FILE [--json]
codesign budget --scheme adult-2026 --answers FILE [--json]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.commands import CommandError
from formula import (
    AnswersError,
    FormulaError,
    Scheme,
    allocate,
    list_schemes,
    load_answers,
    load_scheme,
    load_shipped_scheme,
)
from formula.money import format_pounds


def register(subparsers: Any) -> None:
    """Add the `budget` command to the `codesign` command line."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "budget",
        help="work out an indicative budget and explain it",
        description=(
            "Work out the indicative personal budget for a set of answers, line by line. "
            "Rules files and answers files are TOML (docs/rules-format.md)."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--rules", metavar="FILE", help="a rules file (TOML)")
    source.add_argument("--scheme", metavar="ID", help="a shipped scheme id, e.g. adult-2026")
    parser.add_argument("--answers", metavar="FILE", help="an answers file (TOML)")
    parser.add_argument("--check", action="store_true", help="only validate the rules")
    parser.add_argument("--list", action="store_true", help="list the shipped schemes")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        if args.rules or args.scheme or args.answers or args.check:
            raise CommandError("--list takes no other options except --json")
        return _list(as_json=args.json)
    if not (args.rules or args.scheme):
        raise CommandError("give --rules FILE or --scheme ID (or --list)")
    scheme = _load(args)
    if args.check:
        if args.answers:
            raise CommandError("--check validates rules only: leave --answers out")
        return _check(scheme, as_json=args.json)
    if not args.answers:
        raise CommandError("give --answers FILE (or --check to validate the rules only)")
    try:
        answers = load_answers(args.answers)
        allocation = allocate(answers, scheme)
    except AnswersError as error:
        raise CommandError(
            _one_line(error if error.source else f"{args.answers}: {error}")
        ) from None
    if args.json:
        print(json.dumps(allocation.as_dict(), ensure_ascii=False, indent=2))
        return 0
    print(f"{scheme.name} (version {scheme.version})")
    for line in allocation.lines:
        print(f"  {line.text}")
    print(
        f"Indicative budget: {format_pounds(allocation.annual_pence)} a year, "
        f"{format_pounds(allocation.weekly_pence)} a week"
    )
    return 0


def _load(args: argparse.Namespace) -> Scheme:
    try:
        if args.scheme:
            return load_shipped_scheme(args.scheme)
        return load_scheme(args.rules)
    except FormulaError as error:
        raise CommandError(_one_line(error)) from None


def _check(scheme: Scheme, *, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"ok": True, "scheme_id": scheme.id, "version": scheme.version}))
    else:
        print(
            f"{scheme.source}: OK: {scheme.id} version {scheme.version}, "
            f"{len(scheme.questions)} questions, method {scheme.method.value}"
        )
    return 0


def _list(*, as_json: bool) -> int:
    schemes = list_schemes()
    if as_json:
        rows = [
            {"id": s.id, "name": s.name, "version": s.version, "method": s.method.value}
            for s in schemes
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for info in schemes:
        print(f"{info.id}\t{info.name} (version {info.version}, {info.method.value})")
    return 0


def _one_line(error: object) -> str:
    # TOML parser messages can span lines; the CLI promises one line per error.
    return " ".join(str(error).split())
