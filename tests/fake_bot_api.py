"""A fake Telegram Bot API server on loopback, spoken to over real HTTP.

Implements what codesign-bot uses: getMe, getUpdates (long polling with offset),
sendMessage, answerCallbackQuery, setMyCommands, setWebhook, deleteWebhook, and
sendPhoto/sendDocument (multipart uploads). It records every call and can be told to
answer 429 with retry_after, to drop the connection, or to be slow, per method.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from bot.config import Settings
from bot.runtime import Storage
from bot.telegram.locks import ChatLocks
from bot.telegram.sending import DeliveryMiddleware
from bot.telegram.service import Started, serve

BOT_USER = {"id": 123456, "is_bot": True, "first_name": "codesign-bot", "username": "codesign_bot"}
# Not a secret: a well-formed token that only this fake accepts.
TOKEN = "123456:fake-token-for-the-fake-bot-api-server-0123456789"


@dataclass
class Call:
    """One request the bot made: the method, its form fields and uploaded files."""

    method: str
    params: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)
    started: float = 0.0  # time.monotonic() when it arrived
    finished: float | None = None  # when it was answered (None: dropped or still waiting)

    def json(self, name: str) -> Any:
        return json.loads(self.params[name])

    @property
    def chat_id(self) -> int:
        return int(self.params["chat_id"])


@dataclass
class Fault:
    kind: str  # "429" or "drop"
    retry_after: int = 1


class FakeBotAPI:
    def __init__(self, token: str = TOKEN, *, max_poll_seconds: float = 0.5) -> None:
        self.token = token
        self.max_poll_seconds = max_poll_seconds
        self.calls: list[Call] = []
        self.delays: dict[str, float] = {}
        self.webhook: dict[str, str] | None = None
        self._faults: dict[str, deque[Fault]] = {}
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0
        self._changed = asyncio.Event()
        self._message_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- control ---------------------------------------------------------------------------

    async def start(self) -> FakeBotAPI:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        self._changed.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def push_update(self, update: dict[str, Any]) -> None:
        self._updates.append(update)
        self._notify()

    def answer_429(self, method: str, *, retry_after: int = 1, times: int = 1) -> None:
        self._faults.setdefault(method, deque()).extend(
            Fault("429", retry_after) for _ in range(times)
        )

    def drop_connection(self, method: str, *, times: int = 1) -> None:
        self._faults.setdefault(method, deque()).extend(Fault("drop") for _ in range(times))

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            call.params["text"]
            for call in self.calls_to("sendMessage")
            if call.finished is not None and (chat_id is None or call.chat_id == chat_id)
        ]

    async def wait_for(
        self, method: str, count: int = 1, *, answered: bool = True, within: float = 5.0
    ) -> list[Call]:
        """Wait until `count` calls of `method` arrived (and were answered, if asked)."""
        async with asyncio.timeout(within):
            while True:
                calls = [c for c in self.calls_to(method) if c.finished or not answered]
                if len(calls) >= count:
                    return calls
                self._changed.clear()
                await self._changed.wait()

    # -- the Bot API -----------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params: dict[str, str] = {}
        files: dict[str, bytes] = {}
        for name, value in (await request.post()).items():
            if isinstance(value, FileField):
                files[name] = value.file.read()
            else:
                params[name] = str(value)
        for name, value in list(params.items()):  # uploads are named by "attach://<field>"
            if value.startswith("attach://") and value[len("attach://") :] in files:
                files[name] = files.pop(value[len("attach://") :])
        call = Call(method, params, files, started=time.monotonic())
        self.calls.append(call)
        self._notify()
        if request.match_info["token"] != self.token:
            return self._finish(call, self._error(401, "Unauthorized"))
        faults = self._faults.get(method)
        if faults:
            fault = faults.popleft()
            if fault.kind == "drop":
                assert request.transport is not None
                request.transport.close()
                return web.Response()
            return self._finish(
                call,
                self._error(
                    429,
                    f"Too Many Requests: retry after {fault.retry_after}",
                    retry_after=fault.retry_after,
                ),
            )
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        if method == "getUpdates":
            return self._finish(call, await self._get_updates(params))
        return self._finish(call, self._ok(self._result(method, params, files)))

    def _finish(self, call: Call, response: web.Response) -> web.Response:
        call.finished = time.monotonic()
        self._notify()
        return response

    async def _get_updates(self, params: dict[str, str]) -> web.Response:
        offset = int(params.get("offset") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = min(float(params.get("timeout") or 0), self.max_poll_seconds)
        deadline = time.monotonic() + timeout
        while not self._updates and time.monotonic() < deadline:
            self._changed.clear()
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    await self._changed.wait()
            except TimeoutError:
                break
        limit = int(params.get("limit") or 100)
        return self._ok(self._updates[:limit])

    def _message(self, chat_id: str, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private" if int(chat_id) > 0 else "group"},
            "from": BOT_USER,
            **content,
        }

    def _result(self, method: str, params: dict[str, str], files: dict[str, bytes]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            return self._message(params["chat_id"], text=params["text"])
        if method == "sendPhoto":
            size = {"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}
            return self._message(params["chat_id"], photo=[size], caption=params.get("caption"))
        if method == "sendDocument":
            document = {"file_id": "d", "file_unique_id": "d"}
            return self._message(
                params["chat_id"], document=document, caption=params.get("caption")
            )
        if method == "setWebhook":
            self.webhook = params
            return True
        if method == "deleteWebhook":
            self.webhook = None
            return True
        if method in ("answerCallbackQuery", "setMyCommands"):
            return True
        raise web.HTTPNotFound(
            text=json.dumps({"ok": False, "error_code": 404, "description": "Not Found"}),
            content_type="application/json",
        )

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, **parameters: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)


def message_update(
    update_id: int,
    text: str,
    *,
    user_id: int = 42,
    chat_id: int | None = None,
    chat_type: str = "private",
    first_name: str = "Ann",
    language: str = "en",
    edited: bool = False,
) -> dict[str, Any]:
    """A Bot API update carrying a text message, as Telegram sends it."""
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": chat_id if chat_id is not None else user_id, "type": chat_type},
        "from": {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language,
        },
        "text": text,
    }
    if edited:
        message["edit_date"] = int(time.time())
    return {"update_id": update_id, ("edited_message" if edited else "message"): message}


def press_update(update_id: int, data: str, *, user_id: int = 42) -> dict[str, Any]:
    """A Bot API update carrying a button press on an earlier message of the bot."""
    message = message_update(update_id, "(an earlier message)", user_id=user_id)["message"]
    query = {
        "id": f"{user_id}:{update_id}",
        "from": message["from"],
        "chat_instance": str(user_id),
        "message": message,
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}


@asynccontextmanager
async def serving(
    settings: Settings,
    storage: Storage,
    *,
    delivery: DeliveryMiddleware | None = None,
    locks: ChatLocks | None = None,
    extra_routes: Iterable[web.AbstractRouteDef] = (),
) -> AsyncIterator[Started]:
    """`codesign run`'s service in this event loop, stopped (and drained) on leaving."""
    stop = asyncio.Event()
    started: asyncio.Future[Started] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(
            settings,
            storage,
            stop=stop,
            delivery=delivery or DeliveryMiddleware(per_chat_rate=100, backoff=0.01),
            locks=locks,
            extra_routes=extra_routes,
            polling_timeout=1,
            on_started=started.set_result,
        )
    )
    pending: set[asyncio.Future[Any]] = {task, started}
    await asyncio.wait(pending, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises what went wrong
    try:
        yield started.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
