"""Sending: long texts split safely; 429 and network errors retried within bounds."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import GetUpdates, SendMessage
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversation import RenderedButton, RenderedMessage
from bot.telegram.keyboards import inline_keyboard
from bot.telegram.recording import LOCAL_BOT_TOKEN
from bot.telegram.sending import MESSAGE_LIMIT, DeliveryMiddleware, split_message, utf16_len

TAG = re.compile(r"<[^>]*>")


def plain(text: str) -> str:
    return html.unescape(TAG.sub("", text))


def balanced(text: str) -> bool:
    stack: list[str] = []
    for closing, name in re.findall(r"<(/?)([a-z]+)[^>]*>", text):
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


def test_a_short_text_is_one_message() -> None:
    assert split_message("Hello, <b>Ann</b>.") == ["Hello, <b>Ann</b>."]


def test_paragraphs_first_then_lines() -> None:
    paragraphs = ["A" * 60, "B" * 60, "C" * 60]
    assert split_message("\n\n".join(paragraphs), limit=130) == [
        paragraphs[0] + "\n\n" + paragraphs[1],
        paragraphs[2],
    ]
    lines = "\n".join(["x" * 40] * 5)
    assert [len(p) for p in split_message(lines, limit=100)] == [40 * 2 + 1, 40 * 2 + 1, 40]


def test_never_inside_a_tag_or_an_entity_and_tags_are_reopened() -> None:
    text = '<b><a href="https://example.org/a b">' + "word &amp; " * 40 + "</a></b>"
    pieces = split_message(text, limit=120)
    assert len(pieces) > 1
    for piece in pieces:
        assert utf16_len(piece) <= 120
        assert balanced(piece), piece
        assert piece.startswith('<b><a href="https://example.org/a b">')
        assert "&amp" not in piece.replace("&amp;", "")
    assert plain(" ".join(pieces)).split() == plain(text).split()


def test_length_counts_utf16_like_telegram() -> None:
    pieces = split_message("😀" * 3000)
    assert len(pieces) == 2
    assert all(utf16_len(p) <= MESSAGE_LIMIT for p in pieces)
    assert "".join(pieces) == "😀" * 3000


words = st.text(alphabet=st.sampled_from("ab ŵ😀\n&<>"), min_size=0, max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(words, st.sampled_from(["", "b", "i"])), max_size=40))
def test_any_escaped_text_splits_into_valid_pieces(parts: list[tuple[str, str]]) -> None:
    text = "".join(f"<{t}>{html.escape(w)}</{t}>" if t else html.escape(w) for w, t in parts)
    limit = 40
    pieces = split_message(text, limit=limit)
    for piece in pieces:
        assert utf16_len(piece) <= limit or len(pieces) == 1
        assert balanced(piece)
        assert not re.search(r"&[a-z]*$", TAG.sub("", piece))  # no entity cut in half
    assert "".join("".join(plain(p).split()) for p in pieces) == "".join(plain(text).split())


class Flaky:
    """A next-request stand-in that fails as told, then succeeds."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self, bot: Bot, method: Any) -> Any:  # returns what Telegram would
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "sent"


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


METHOD = SendMessage(chat_id=1, text="hi")
BOT = Bot(LOCAL_BOT_TOKEN)


async def test_retry_after_is_waited_exactly() -> None:
    sleeps = Sleeps()
    middleware = DeliveryMiddleware(sleep=sleeps, per_chat_rate=1000, per_chat_burst=10)
    flaky = Flaky(TelegramRetryAfter(METHOD, "flood", 7))
    result: Any = await middleware(flaky, BOT, METHOD)
    assert result == "sent"
    assert sleeps == [7.0] and flaky.calls == 2


async def test_retries_are_bounded() -> None:
    sleeps = Sleeps()
    middleware = DeliveryMiddleware(
        sleep=sleeps, max_attempts=3, per_chat_rate=1000, per_chat_burst=10
    )
    flaky = Flaky(*(TelegramRetryAfter(METHOD, "flood", 1) for _ in range(5)))
    with pytest.raises(TelegramRetryAfter):
        await middleware(flaky, BOT, METHOD)
    assert flaky.calls == 3


async def test_a_very_long_retry_after_is_not_waited() -> None:
    middleware = DeliveryMiddleware(sleep=Sleeps(), max_retry_after=60)
    with pytest.raises(TelegramRetryAfter):
        await middleware(Flaky(TelegramRetryAfter(METHOD, "flood", 3600)), BOT, METHOD)


async def test_network_errors_back_off_and_getupdates_is_left_to_the_poller() -> None:
    sleeps = Sleeps()
    middleware = DeliveryMiddleware(
        sleep=sleeps, backoff=0.5, per_chat_rate=1000, per_chat_burst=10
    )
    errors = [TelegramNetworkError(METHOD, "reset") for _ in range(3)]
    result: Any = await middleware(Flaky(*errors), BOT, METHOD)
    assert result == "sent"
    assert sleeps == [0.5, 1.0, 2.0]
    with pytest.raises(TelegramNetworkError):
        await middleware(Flaky(TelegramNetworkError(METHOD, "x")), BOT, GetUpdates())


async def test_pacing_per_chat_allows_a_short_burst() -> None:
    sleeps = Sleeps()
    now = [100.0]
    middleware = DeliveryMiddleware(
        sleep=sleeps, clock=lambda: now[0], per_chat_rate=1, per_chat_burst=3
    )
    for _ in range(5):
        await middleware(Flaky(), BOT, METHOD)
    assert list(sleeps) == pytest.approx([1.0, 2.0])  # the 4th and 5th wait
    await middleware(Flaky(), BOT, SendMessage(chat_id=2, text="other chat"))
    assert len(sleeps) == 2


def test_a_keyboard_is_made_once_for_the_same_buttons() -> None:
    yes_no = (RenderedButton("Yes", "yes"), RenderedButton("No", "no"))
    markup = inline_keyboard(RenderedMessage("Ready?", yes_no))
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [[("Yes", "yes")], [("No", "no")]]
    # The next message with the same buttons shares it; other buttons get their own.
    assert inline_keyboard(RenderedMessage("Sure?", yes_no)) is markup
    other = inline_keyboard(RenderedMessage("Sure?", (RenderedButton("Yes", "yes"),)))
    assert other is not None and other is not markup
    assert inline_keyboard(RenderedMessage("No buttons")) is None
