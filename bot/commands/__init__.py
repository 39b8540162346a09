"""The `codesign` command line, one module per command group.

Each module exposes `register(subparsers)`, which adds its parser(s) and sets
`handler=` to a function taking the parsed namespace and returning an exit code.
Handlers raise `CommandError` for bad input: the CLI prints one line and exits 2.
"""

from __future__ import annotations


class CommandError(Exception):
    """Bad input on the command line: printed as one line, exit code 2."""
