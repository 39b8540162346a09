"""`codesign run` as an operator meets it: settings checked in one line, SIGTERM drains."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import SettingsError, load_settings
from bot.storage import journal, migrate
from bot.storage.engine import create_engine, session_factory
from tests.fake_bot_api import FakeBotAPI, message_update

ROOT = str(Path(__file__).resolve().parents[2])
RUNTIME_ENV = (
    "WEBHOOK_URL",
    "WEBHOOK_PATH",
    "WEBHOOK_SECRET",
    "WEB_HOST",
    "WEB_PORT",
    "REDIS_URL",
    "SHUTDOWN_GRACE_SECONDS",
    "DRAWING_PROCESSES",
)


@pytest.fixture
def env(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in RUNTIME_ENV:
        monkeypatch.delenv(name, raising=False)
    yield clean_env
    for handler in logging.getLogger().handlers[:]:
        if type(handler).__name__ == "_JsonHandler":
            logging.getLogger().removeHandler(handler)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["run", *args])
    return code, capsys.readouterr().err.strip().splitlines()


def test_without_a_token_run_names_bot_token_and_exits_2(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_cli(capsys)
    assert code == 2 and len(err) == 1 and "BOT_TOKEN" in err[0]


def test_webhook_mode_refuses_to_start_without_a_secret(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:ABCdef")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.org")
    code, err = run_cli(capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith("codesign: error: WEBHOOK_SECRET:")


def test_a_database_behind_the_code_is_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:ABCdef")
    code, err = run_cli(capsys)
    assert code == 2 and len(err) == 1 and "codesign db upgrade" in err[0]
    assert "ABCdef" not in " ".join(err)


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("WEBHOOK_URL", "http://bot.example.org", "https://"),
        ("WEBHOOK_URL", "bot.example.org", "https://"),
        ("WEBHOOK_PATH", "telegram", "start with /"),
        ("WEBHOOK_SECRET", "has spaces in it", "1-256 characters"),
        ("WEBHOOK_SECRET", "x" * 257, "1-256 characters"),
        ("WEB_PORT", "70000", "65535"),
        ("REDIS_URL", "http://127.0.0.1:6379", "redis://"),
        ("SHUTDOWN_GRACE_SECONDS", "0", "greater than 0"),
        ("DRAWING_PROCESSES", "-1", "greater than or equal to 0"),
        ("DRAWING_PROCESSES", "two", "integer"),
        ("BOT_API_BASE_URL", "127.0.0.1:8081", "http://"),
    ],
)
def test_runtime_settings_are_checked(
    env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(f"{variable}:") and fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_runtime_defaults(env: Path) -> None:
    settings = load_settings()
    assert not settings.webhook_mode
    assert (settings.web_host, settings.web_port) == ("127.0.0.1", 8080)
    assert settings.webhook_path == "/telegram/webhook"
    assert settings.shutdown_grace_seconds == 10
    assert settings.drawing_processes == 1
    assert load_settings(webhook_url="https://bot.example.org/").webhook_url == (
        "https://bot.example.org"
    )


@pytest.mark.slow
async def test_sigterm_lets_the_update_in_flight_finish_then_exits_0(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = env / "codesign.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    await migrate.upgrade(engine)
    fake = await FakeBotAPI().start()
    fake.delays["sendMessage"] = 1.0  # the reply is still on its way when SIGTERM comes
    environment = {
        **{k: v for k, v in os.environ.items() if k not in RUNTIME_ENV},
        "BOT_TOKEN": fake.token,
        "BOT_API_BASE_URL": fake.url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "WEB_PORT": "0",
        "SHUTDOWN_GRACE_SECONDS": "8",
        "PYTHONPATH": ROOT,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run",
        env=environment, cwd=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await fake.wait_for("getUpdates", answered=False, within=60)
        # A group chat: its answer needs nothing from the conversation but the journal.
        group = message_update(
            4242, "/start", first_name="Gwenllian", chat_id=-100, chat_type="group"
        )
        fake.push_update(group)
        await fake.wait_for("sendMessage", answered=False, within=10)
        # The long poll after the update is already on its way (the reply may overtake it).
        await fake.wait_for("getUpdates", 2, answered=False, within=10)
        process.send_signal(signal.SIGTERM)
        signalled = len(fake.calls_to("getUpdates"))
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
        await fake.close()
    assert process.returncode == 0, stderr.decode()
    replies = fake.calls_to("sendMessage")
    assert replies and all(call.finished is not None for call in replies)
    assert len(fake.calls_to("getUpdates")) == signalled  # no fetching after the signal
    async with session_factory(engine)() as session:
        entry = await journal.entry(session, update_id=4242)
    await engine.dispose()
    assert entry is not None and entry.status == journal.DONE
    log = stderr.decode()
    records = [json.loads(line) for line in log.splitlines()]
    assert any(r.get("update_id") == 4242 and r.get("outcome") == "handled" for r in records)
    assert fake.token not in log and fake.token.split(":")[1] not in log
    assert "Gwenllian" not in log and "/start" not in log
