"""Scale-out: webhook worker processes sharing PostgreSQL, under a loopback load.

Each worker is `codesign run`'s service in webhook mode (bench/worker.py) against one
scratch PostgreSQL database and a fake Bot API in this process. Every simulated person
sends their next update once the bot has answered the previous one (as a person waits for
the buttons), and consecutive updates of one chat go to different workers. Afterwards
the conversation log must hold every person's updates in the order they were sent, and
every person must have a submitted plan. Run with one worker, then with two.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import BinaryIO

import aiohttp
from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench.common import POSTGRES_URL, Row, progress
from bench.script import Step, person_update, pilot_script
from bot.storage import migrate
from bot.storage.engine import create_engine
from bot.storage.models import ConversationEvent, Person, Plan
from tests.fake_bot_api import TOKEN, Call, FakeBotAPI

SECRET = "bench-webhook-secret"
WEBHOOK_PATH = "/telegram/webhook"


class CountingBotAPI(FakeBotAPI):
    """The fake Bot API, counting answered requests per chat so a person knows when to go on."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.per_chat: dict[int, int] = defaultdict(int)
        self.changed: dict[int, asyncio.Event] = defaultdict(asyncio.Event)

    def _finish(self, call: Call, response: web.Response) -> web.Response:
        answered = super()._finish(call, response)
        chat = call.params.get("chat_id") or call.params.get("callback_query_id", "").split(":")[0]
        if chat:
            self.per_chat[int(chat)] += 1
            self.changed[int(chat)].set()
        return answered

    async def wait_for_chat(self, chat: int, count: int, *, within: float = 60.0) -> None:
        async with asyncio.timeout(within):
            while self.per_chat[chat] < count:
                self.changed[chat].clear()
                await self.changed[chat].wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def scratch_postgres_database() -> AsyncIterator[str]:
    """A scratch PostgreSQL database (workers read DATABASE_URL, so not a schema), dropped after."""
    url = make_url(POSTGRES_URL)
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    scratch_url = url.set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(scratch_url)
        await migrate.upgrade(engine)
        await engine.dispose()
        yield scratch_url
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@asynccontextmanager
async def workers(count: int, database_url: str, api_url: str) -> AsyncIterator[list[str]]:
    """`count` webhook workers; yields their webhook URLs once each answers /healthz."""
    processes, urls, logs = [], [], []
    with tempfile.TemporaryDirectory(prefix="codesign-bench-workers-") as folder:
        try:
            for number in range(count):
                port = _free_port()
                env = {
                    **os.environ,
                    "PYTHONPATH": os.getcwd(),
                    "DATABASE_URL": database_url,
                    "BOT_TOKEN": TOKEN,
                    "BOT_API_BASE_URL": api_url,
                    "WEBHOOK_URL": "https://example.invalid",
                    "WEBHOOK_SECRET": SECRET,
                    "WEB_PORT": str(port),
                    "DATA_DIR": folder,
                    "LOG_LEVEL": "WARNING",
                }
                env.pop("REDIS_URL", None)
                log = _log_file(f"{folder}/worker{number}.log")
                logs.append(log)
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "bench.worker", env=env, stderr=log, stdout=log
                    )
                )
                urls.append(f"http://127.0.0.1:{port}")
            async with aiohttp.ClientSession() as client:
                for url in urls:
                    await _wait_healthy(client, url)
            yield [url + WEBHOOK_PATH for url in urls]
        finally:
            for process in processes:
                if process.returncode is None:
                    process.terminate()
            for process in processes:
                await process.wait()
            for number, log in enumerate(logs):
                log.close()
                for line in _errors_logged(f"{folder}/worker{number}.log")[:3]:
                    progress(f"  worker {number} logged: {line.strip()[:300]}")


def _log_file(path: str) -> BinaryIO:
    return open(path, "wb")


def _errors_logged(path: str) -> list[str]:
    with open(path, errors="replace") as log_file:
        return [line for line in log_file if '"level": "ERROR"' in line]


async def _wait_healthy(client: aiohttp.ClientSession, url: str) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                async with client.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


async def _load(
    api: CountingBotAPI, hooks: list[str], script: list[Step], people: int, first_user: int
) -> float:
    update_ids = itertools.count(first_user * 100)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    done = 0
    total = people * len(script)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as client:

        async def person(user: int) -> None:
            nonlocal done
            expected = 0
            for number, step in enumerate(script):
                update = person_update(
                    user, f"Person {user}", next(update_ids), step.kind, step.value
                )
                body = update.model_dump(mode="json", exclude_none=True)
                hook = hooks[(user + number) % len(hooks)]
                async with client.post(hook, json=body, headers=headers) as response:
                    if response.status != 200:
                        raise RuntimeError(f"webhook answered {response.status}")
                expected += step.requests
                await api.wait_for_chat(user, expected)
                done += 1

        async def report() -> None:
            while True:
                await asyncio.sleep(5)
                progress(f"  scaleout: {done:,}/{total:,} updates")

        reporter = asyncio.create_task(report())
        started = time.perf_counter()
        try:
            await asyncio.gather(*(person(first_user + n) for n in range(people)))
        finally:
            reporter.cancel()
        return time.perf_counter() - started


async def _order_problems(database_url: str, script: list[Step], first_user: int) -> list[str]:
    expected = [
        f"/{s.value[1:]}" if s.kind == "text" and s.value.startswith("/") else s.value
        for s in script
    ]
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Person.telegram_user_id, ConversationEvent.body)
                .join(Person, Person.id == ConversationEvent.person_id)
                .where(ConversationEvent.direction == "in", Person.telegram_user_id >= first_user)
                .order_by(ConversationEvent.id)
            )
            seen: dict[int, list[str]] = defaultdict(list)
            for user, body in rows:
                seen[int(user)].append(str(body))
            plans = await connection.scalar(select(func.count()).select_from(Plan))
    finally:
        await engine.dispose()
    problems = [
        f"chat {user}: out of order: {_first_difference(bodies, expected)}"
        for user, bodies in seen.items()
        if bodies != expected
    ]
    if plans != len(seen):
        problems.append(f"{plans} plans for {len(seen)} people")
    return problems


async def run(*, people: int, quick: bool) -> list[Row]:
    script = await pilot_script()
    rows: list[Row] = []
    rates: dict[int, float] = {}
    api = await CountingBotAPI().start()
    try:
        for count in (1, 2):
            async with scratch_postgres_database() as database_url:
                progress(
                    f"scaleout: {count} worker(s), {people} people, {len(script)} updates each"
                )
                async with workers(count, database_url, api.url) as hooks:
                    first_user = 5_000_000 + count * 100_000
                    seconds = await _load(api, hooks, script, people, first_user)
                    problems = await _order_problems(database_url, script, first_user)
            updates = people * len(script)
            rates[count] = updates / seconds
            order = (
                "every chat in order"
                if not problems
                else f"{len(problems)} problems: {problems[0]}"
            )
            rows.append(
                Row(
                    "scaleout",
                    f"{count} webhook worker(s), PostgreSQL, {people} people",
                    f"{rates[count]:,.0f} updates/s combined "
                    f"({updates:,} in {seconds:.1f} s); {order}",
                    "per-chat order kept",
                    "PASS" if not problems else "MISS",
                )
            )
    finally:
        await api.close()
    rows.append(
        Row("scaleout", "2 workers vs 1", f"{rates.get(2, 0) / max(rates.get(1, 1), 1e-9):.2f}x")
    )
    return rows


def _first_difference(seen: list[str], expected: list[str]) -> str:
    for number, (got, wanted) in enumerate(zip(seen, expected, strict=False)):
        if got != wanted:
            return f"update {number + 1} was {got!r}, expected {wanted!r}"
    return f"{len(seen)} updates logged, {len(expected)} sent"
