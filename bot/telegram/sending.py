"""Getting messages to Telegram: pacing, retries and splitting long texts.

`DeliveryMiddleware` sits on the bot's session (`bot.session.middleware(...)`), so every
request of every mode goes through it: it keeps to about one message a second per chat
(with a short burst) and thirty a second in all, waits out HTTP 429 `retry_after` a
bounded number of times, and retries network and server errors with a growing pause.
`split_message` cuts a long HTML text at paragraph, then line, then word boundaries,
never inside a tag or an entity, and closes and reopens tags around each cut.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardMarkup

MESSAGE_LIMIT = 4096  # characters (UTF-16 code units) in one Telegram message
_ATOM = re.compile(r"<[^<>]*>|&#?[A-Za-z0-9]+;|.", re.S)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*>")
_EMPTY_PAIR = re.compile(r"<([A-Za-z][A-Za-z0-9-]*)(?:\s[^>]*)?></\1>")
_PACED_PREFIXES = ("send", "copy", "forward", "edit")
logger = logging.getLogger("bot.telegram.sending")

Sleep = Callable[[float], Awaitable[None]]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _tag_name(tag: str) -> str:
    match = _TAG.fullmatch(tag)
    return match.group(2).lower() if match else ""


def _after(stack: tuple[str, ...], atom: str) -> tuple[str, ...]:
    """The tags still open after `atom`."""
    match = _TAG.fullmatch(atom)
    if match is None:
        return stack
    if not match.group(1):
        return (*stack, atom)
    name = match.group(2).lower()
    for index in range(len(stack) - 1, -1, -1):
        if _tag_name(stack[index]) == name:
            return stack[:index] + stack[index + 1 :]
    return stack


def _closers(stack: tuple[str, ...]) -> str:
    return "".join(f"</{_tag_name(tag)}>" for tag in reversed(stack))


def _without_empty_pairs(text: str) -> str:
    while True:
        shorter = _EMPTY_PAIR.sub("", text)
        if shorter == text:
            return text
        text = shorter


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` (Telegram HTML) in pieces of at most `limit` UTF-16 units, each valid on its own."""
    if utf16_len(text) <= limit:
        return [text]
    atoms = _ATOM.findall(text)
    chunks: list[str] = []
    opened: tuple[str, ...] = ()
    start = 0
    while start < len(atoms):
        while start < len(atoms) and atoms[start] in ("\n", " "):
            start += 1
        prefix = "".join(opened)
        size, stack = utf16_len(prefix), opened
        cuts: dict[str, tuple[int, tuple[str, ...]]] = {}
        end = start
        while end < len(atoms):
            atom = atoms[end]
            if atom in ("\n", " "):
                kind = "space" if atom == " " else "line"
                if atom == "\n" and end > start and atoms[end - 1] == "\n":
                    kind = "paragraph"
                cuts[kind] = (end, stack)
            after = _after(stack, atom)
            grown = size + utf16_len(atom)
            if grown + utf16_len(_closers(after)) > limit and end > start:
                break
            size, stack, end = grown, after, end + 1
        if end < len(atoms):
            best = next((k for k in ("paragraph", "line", "space") if k in cuts), None)
            if best is not None and cuts[best][0] > start:
                end, stack = cuts[best]
        body = "".join(atoms[start:end]).rstrip()
        if _TAG.sub("", body).strip():
            chunks.append(_without_empty_pairs(prefix + body + _closers(stack)))
        opened, start = stack, end
    return chunks


async def send_text(
    bot: Bot, chat_id: int, text: str, *, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send `text`, split if it is too long; the buttons go with the last piece."""
    pieces = split_message(text)
    for number, piece in enumerate(pieces, start=1):
        markup = reply_markup if number == len(pieces) else None
        await bot.send_message(chat_id, piece, reply_markup=markup)


class _Pace:
    """Generic cell rate: `rate` a second on average, up to `burst` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.interval = 1.0 / rate
        self.slack = (burst - 1) * self.interval
        self._due: dict[Hashable, float] = {}

    def delay(self, key: Hashable, now: float) -> float:
        """How long to wait before sending for `key`; reserves the slot (no await inside)."""
        due = max(self._due.get(key, now), now)
        self._due[key] = due + self.interval
        if len(self._due) > 10_000:  # forget chats that are quiet again
            self._due = {k: v for k, v in self._due.items() if v > now}
        return max(0.0, due - self.slack - now)


class DeliveryMiddleware(BaseRequestMiddleware):
    """Paces, and retries within bounds, every request the bot makes."""

    def __init__(
        self,
        *,
        max_attempts: int = 4,
        max_retry_after: float = 60.0,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 3,
        global_rate: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_attempts = max_attempts
        self._max_retry_after = max_retry_after
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._per_chat = _Pace(per_chat_rate, per_chat_burst)
        self._global = _Pace(global_rate, max(1, int(global_rate)))
        self._sleep = sleep
        self._clock = clock

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        chat_id: Any = getattr(method, "chat_id", None)
        paced = (
            chat_id is not None and name.startswith(_PACED_PREFIXES) and name != "sendChatAction"
        )
        attempt = 0
        while True:
            attempt += 1
            if paced:
                await self._wait_for_slot(chat_id)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt >= self._max_attempts or error.retry_after > self._max_retry_after:
                    raise
                logger.warning(
                    "flood control: waiting",
                    extra={"method": name, "retry_after": error.retry_after, "attempt": attempt},
                )
                await self._sleep(float(error.retry_after))
            except (TelegramNetworkError, TelegramServerError) as error:
                # getUpdates has its own back-off in the polling loop.
                if isinstance(method, GetUpdates) or attempt >= self._max_attempts:
                    raise
                delay = min(self._backoff * 2 ** (attempt - 1), self._max_backoff)
                logger.warning(
                    "request failed: retrying",
                    extra={
                        "method": name,
                        "error": type(error).__name__,
                        "delay": delay,
                        "attempt": attempt,
                    },
                )
                await self._sleep(delay)

    async def _wait_for_slot(self, chat_id: Any) -> None:
        now = self._clock()
        delay = max(self._per_chat.delay(chat_id, now), self._global.delay(None, now))
        if delay > 0:
            await self._sleep(delay)
