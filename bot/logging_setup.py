"""Structured application logs: one JSON object a line, with secrets redacted everywhere.

Log calls pass ids and outcomes as `extra={...}`, never message text or names. The bot
token sits inside every Bot API URL, so a filter on the handler (which sees the records
of every logger, aiogram's and aiohttp's included) replaces it, and anything shaped like
a token, before a line is written.

Every update writes a line, so a line is made cheaply: the record skips what no line
shows (its thread and process, the file and line it was logged from; the logging HOWTO's
"Optimization" settings) and is written by orjson.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

REDACTED = "[REDACTED]"
# A Telegram bot token: the bot id, a colon, then 30 or more URL-safe characters.
TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime"}
)


class RedactingFilter(logging.Filter):
    """Replaces the given secrets, and anything shaped like a bot token, in every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return TOKEN_SHAPE.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        fields = vars(record)
        for name in fields.keys() - _STANDARD_ATTRIBUTES:
            if isinstance(value := fields[name], str):
                fields[name] = self.redact(value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, then the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name not in line:
                line[name] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info is not None and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exc"] = record.exc_text
        try:
            return orjson.dumps(line).decode()
        except TypeError:  # half a surrogate pair, an integer beyond 64 bits
            return json.dumps(line, ensure_ascii=False)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs (replaced, not doubled, when called again)."""


def configure_logging(
    level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send every logger's records, redacted, as JSON lines to `stream` (stderr)."""
    handler = _JsonHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter(secrets))
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
