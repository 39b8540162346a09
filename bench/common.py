"""What every benchmark section shares: result rows, scratch databases, timing and memory."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.runtime import Storage
from bot.storage import migrate
from bot.storage.engine import create_engine, session_factory

POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the final table."""

    section: str
    case: str
    value: str
    target: str = ""
    verdict: str = ""  # "PASS", "MISS" or "" (reported, no target)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def progress(message: str) -> None:
    """One progress line on stderr (the table goes to stdout)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def interpreter() -> Row:
    """Which Python ran the figures: how CPython was built changes them by about a fifth.

    Debian's python3.11 (libpython built into the executable, profile-guided) spent 18-23%
    less CPU per update than pyenv's default build (no profile-guided optimisation,
    libpython a shared library) on one of this project's machines (bench/README.md,
    "Thirteenth round").
    """
    executable = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    with open("/proc/self/maps") as maps:
        shared = any("libpython" in line for line in maps)
    build = "libpython a shared library" if shared else "libpython built into the executable"
    return Row(
        "python",
        "the interpreter the figures were measured on",
        f"{platform.python_implementation()} {platform.python_version()}, {executable}, {build}",
    )


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def rss_mb() -> float:
    """This process's resident set size now, in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


async def in_fresh_process(module: str, *args: str) -> dict[str, Any]:
    """Run `python -m bench.<module> args...` (a probe that prints one JSON object last on
    standard output) and return that object: a process that holds only what it measures."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        f"bench.{module}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{module} probe failed with exit code {process.returncode}")
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


class PeakRss:
    """Samples the RSS every `every` seconds while in use; `peak` is the highest seen."""

    def __init__(self, every: float = 0.1) -> None:
        self.peak = rss_mb()
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, rss_mb())
            await asyncio.sleep(self._every)

    async def __aenter__(self) -> PeakRss:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.peak = max(self.peak, rss_mb())
        if self._task is not None:
            self._task.cancel()


@dataclass(frozen=True, slots=True)
class Scratch:
    """A migrated scratch database and how to reach it from another process."""

    backend: str
    storage: Storage
    url: str  # a SQLAlchemy URL
    schema: str | None  # PostgreSQL: the scratch schema (search_path)


@asynccontextmanager
async def scratch_database(backend: str, *, pool_size: int | None = None) -> AsyncIterator[Scratch]:
    """A freshly migrated database, removed afterwards: a SQLite file or a PostgreSQL schema."""
    kwargs: dict[str, object] = {}
    if pool_size is not None:
        kwargs.update(pool_size=pool_size, max_overflow=0)
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="codesign-bench-") as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            engine = create_engine(url, **kwargs)
            dashboard = create_engine(url, inline=False)  # as open_storage makes them
            try:
                await migrate.upgrade(engine)
                storage = Storage(engine, session_factory(engine), dashboard)
                yield Scratch(backend, storage, url, None)
            finally:
                await engine.dispose()
                await dashboard.dispose()
        return
    url = make_url(POSTGRES_URL)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"server_settings": {"search_path": schema}}, **kwargs)
    try:
        await migrate.upgrade(engine)
        yield Scratch(
            backend,
            Storage(engine, session_factory(engine)),
            url.render_as_string(hide_password=False),
            schema,
        )
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
