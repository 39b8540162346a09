"""Shared fixtures: a migrated database on SQLite and PostgreSQL, and a bot with no network.

PostgreSQL tests run when TEST_DATABASE_URL is set (postgresql+asyncpg://...). In CI
(CI=true) they are required: a missing or unreachable database fails the run.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.runtime import Storage
from bot.storage import migrate
from bot.storage.engine import create_engine, session_factory

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres, pytest.mark.slow]),
]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach the internet: only loopback and Unix sockets may be connected."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def postgres_url_or_skip() -> str:
    if not TEST_DATABASE_URL:
        if IN_CI:
            pytest.fail("CI=true needs TEST_DATABASE_URL: the PostgreSQL tests are required in CI")
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL=postgresql+asyncpg://...")
    return TEST_DATABASE_URL


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def storage(backend: str, tmp_path: Path) -> AsyncIterator[Storage]:
    """A freshly migrated database: a SQLite file, or a schema of its own on PostgreSQL."""
    if backend == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'codesign.db'}")
        await migrate.upgrade(engine)
        yield Storage(engine, session_factory(engine))
        await engine.dispose()
        return
    url = make_url(postgres_url_or_skip())
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await migrate.upgrade(engine)
        yield Storage(engine, session_factory(engine))
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No codesign settings from the developer's shell or .env leak into a test."""
    for name in list(os.environ):
        if name in {
            "DATABASE_URL",
            "BOT_TOKEN",
            "BOT_API_BASE_URL",
            "DEFAULT_LANGUAGE",
            "DATA_DIR",
            "LOG_LEVEL",
        }:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
