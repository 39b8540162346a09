"""Logs are JSON lines without the bot token, the webhook secret or what people typed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from bot.logging_setup import REDACTED, JsonFormatter, Redactor, configure_logging

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # shaped like a real one, not real
SECRET = "webhook_secret-value"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = configure_logging("DEBUG", secrets=[TOKEN, SECRET], stream=out)
    yield out
    logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("logger", ["aiohttp.client", "aiogram.dispatcher", "bot.anything"])
def test_the_token_is_redacted_in_every_logger(stream: io.StringIO, logger: str) -> None:
    url = f"https://api.telegram.org/bot{TOKEN}/getUpdates"
    logging.getLogger(logger).error("Failed to fetch %s", url, extra={"url": url})
    try:
        raise RuntimeError(f"POST {url} with {SECRET}")
    except RuntimeError:
        logging.getLogger(logger).exception("request failed")
    text = stream.getvalue()
    assert TOKEN not in text and TOKEN.split(":")[1] not in text and SECRET not in text
    assert text.count(REDACTED) >= 4
    assert all(line["logger"] == logger for line in lines(stream))


def test_a_token_not_named_is_still_redacted() -> None:
    other = "987654321:ZZZdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    assert Redactor().redact(f"/bot{other}/sendMessage") == f"/bot{REDACTED}/sendMessage"


def test_lines_are_json_with_the_extras(stream: io.StringIO) -> None:
    logging.getLogger("bot.telegram.updates").info(
        "update handled", extra={"update_id": 7, "ms": 12, "outcome": "handled"}
    )
    [line] = lines(stream)
    assert line["msg"] == "update handled" and line["level"] == "INFO"
    assert (line["update_id"], line["ms"], line["outcome"]) == (7, 12, "handled")
    assert isinstance(JsonFormatter().format(logging.makeLogRecord({"msg": "x"})), str)


def test_what_orjson_cannot_write_is_still_one_json_line(stream: io.StringIO) -> None:
    # Half a surrogate pair (from a broken client) and an integer beyond 64 bits.
    logging.getLogger("bot.anything").warning(
        "odd \ud800 text", extra={"update_id": 2**70, "kind": "x\udfffy"}
    )
    [line] = lines(stream)
    assert line["msg"] == "odd \ud800 text"
    assert (line["update_id"], line["kind"]) == (2**70, "x\udfffy")


def test_extras_that_are_not_texts_are_written_as_text_and_redacted(stream: io.StringIO) -> None:
    class Address:
        def __str__(self) -> str:
            return f"https://api.telegram.org/bot{TOKEN}/setWebhook?secret={SECRET}"

    logging.getLogger("aiohttp.client").warning(
        "odd", extra={"where": Address(), "attempt": 2, "late": True, "delay": 0.5}
    )
    text = stream.getvalue()
    assert TOKEN not in text and SECRET not in text
    [line] = lines(stream)
    assert line["where"] == f"https://api.telegram.org/bot{REDACTED}/setWebhook?secret={REDACTED}"
    # Numbers and flags stay numbers and flags, and the extras keep the order given.
    assert list(line)[4:] == ["where", "attempt", "late", "delay"]
    assert (line["attempt"], line["late"], line["delay"]) == (2, True, 0.5)


def test_the_time_is_utc_to_the_millisecond() -> None:
    formatter = JsonFormatter()
    # Within one second, into the next, and back to another day (the day's text is kept).
    for created in (1_764_625_721.0, 1_764_625_721.9996, 1_764_625_722.25, 86_400.5):
        record = logging.makeLogRecord({"msg": "x", "created": created})
        record.msecs = int((created - int(created)) * 1000)  # as LogRecord works it out
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert json.loads(formatter.format(record))["ts"] == expected
