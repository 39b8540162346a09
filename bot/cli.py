"""Entry point of the `codesign` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import NoReturn

from bot.commands import CommandError
from bot.config import SettingsError

EXIT_USAGE = 2


def _command_modules() -> list[ModuleType]:
    # Imported here so `codesign --help` stays quick and one broken command cannot hide the rest.
    from bot.commands import (
        budget,
        chat,
        dashboard,
        database,
        ideas,
        people,
        records,
        run,
        staff,
    )

    return [chat, database, people, budget, ideas, records, run, dashboard, staff]


class OneLineParser(argparse.ArgumentParser):
    """Usage mistakes are one line naming the problem, exit code 2 (`--help` shows usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="codesign",
        description="codesign-bot: co-design personalised support with a personal budget.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for module in _command_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except (CommandError, SettingsError) as error:
        print(f"codesign: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
