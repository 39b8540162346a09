"""Structured application logs: one JSON object a line, with secrets redacted everywhere.

Log calls pass ids and outcomes as `extra={...}`, never message text or names. The bot
token sits inside every Bot API URL, so the handler's formatter (which sees the records
of every logger, aiogram's and aiohttp's included) replaces it, and anything shaped like
a token, in every text it writes.

Every update writes a line, so a line is made cheaply: the record skips what no line
shows (its thread and process, the file and line it was logged from; the logging HOWTO's
"Optimization" settings), the record is read once, and the line is written by orjson.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import Any, TextIO

import orjson

REDACTED = "[REDACTED]"
# A Telegram bot token: the bot id, a colon, then 30 or more URL-safe characters.
TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime"}
)
_JSON_SCALARS = frozenset({int, float, bool, type(None)})  # written as they are


class Redactor:
    """Replaces the given secrets, and anything shaped like a bot token, in a text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        # A token has a colon: most texts (an outcome, a kind) need no search for one.
        return TOKEN_SHAPE.sub(REDACTED, text) if ":" in text else text


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, then the record's extras,
    every text in it redacted (the message, the extras, an exception's traceback).

    Redacting as the line is written, not in a filter before it, passes over the record's
    two dozen attributes once instead of twice (bench/README.md, "Sixteenth round").
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._redact = Redactor(secrets).redact
        self._second = -1  # the last second a line was written in, and its text
        self._second_text = ""

    def format(self, record: logging.LogRecord) -> str:
        redact = self._redact
        line: dict[str, Any] = {
            "ts": self._timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        fields = vars(record)
        for name in [name for name in fields if name not in _STANDARD_ATTRIBUTES]:
            if name not in line:
                value = fields[name]
                line[name] = value if type(value) in _JSON_SCALARS else redact(str(value))
        if record.exc_info is not None and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = redact(record.exc_text)
        try:
            return orjson.dumps(line).decode()
        except TypeError:  # half a surrogate pair, an integer beyond 64 bits
            return json.dumps(line, ensure_ascii=False)

    def _timestamp(self, record: logging.LogRecord) -> str:
        """When, in UTC to the millisecond; the date and the time of day made once a second."""
        second = int(record.created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int(record.msecs):03d}+00:00"


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs (replaced, not doubled, when called again)."""


def configure_logging(
    level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send every logger's records, redacted, as JSON lines to `stream` (stderr)."""
    handler = _JsonHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # No line shows a record's thread or process, nor the file and line it was logged
    # from (the logging HOWTO's "Optimization": `_srcfile` None skips the walk up the
    # stack that finds them): not worked out for every record.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # aiohttp's access log names the path only; aiogram's event log names update ids only.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
