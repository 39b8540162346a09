"""The webhook endpoint: Telegram POSTs updates here with the secret in a header.

The secret is compared in constant time; a missing or wrong one gets 401. An update is
answered 200 only once it is journaled, so Telegram re-sends it if this process could not
keep it (503) and nothing is lost.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Bot
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.telegram.middlewares import failure_description
from bot.telegram.runner import NotAccepting, UpdateRunner

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
logger = logging.getLogger("bot.telegram.webhook")
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    path: str
    handler: WebHandler


def secret_matches(given: str, expected: str) -> bool:
    """Constant-time comparison (on bytes, so any header value is safe to compare)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def webhook_route(*, path: str, secret: str, bot: Bot, runner: UpdateRunner) -> WebhookRoute:
    if not secret:
        raise ValueError("a webhook needs a secret")

    async def receive(request: web.Request) -> web.StreamResponse:
        if not secret_matches(request.headers.get(SECRET_HEADER, ""), secret):
            logger.warning("webhook call refused: bad secret", extra={"remote": request.remote})
            return web.json_response({"ok": False}, status=401)
        try:
            update = Update.model_validate(await request.json(), context={"bot": bot})
        except (ValueError, ValidationError):
            return web.json_response({"ok": False}, status=400)
        try:
            await runner.accept(update)
        except NotAccepting:
            return web.json_response({"ok": False}, status=503)
        except Exception as error:  # the database is down: Telegram will try again later
            logger.error(
                "update not kept",
                extra={"update_id": update.update_id, "error": failure_description(error)},
            )
            return web.json_response({"ok": False}, status=503)
        return web.json_response({"ok": True})

    return WebhookRoute(path, receive)
