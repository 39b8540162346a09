"""`codesign staff ...` and `codesign dashboard`: accounts from the command line, never a
password in the arguments; the dashboard served alone."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from bot.commands.dashboard import serve_dashboard
from bot.config import load_settings
from tests.dashboard.dashboard_helpers import PASSWORD


@pytest.fixture
def database(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = clean_env / "codesign.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path


def test_staff_add_reads_the_password_from_the_environment(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEW_STAFF_PASSWORD", PASSWORD)
    code = main(
        ["staff", "add", "--email", "Casey@Council.example", "--role", "caseworker",
         "--password-env", "NEW_STAFF_PASSWORD"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "casey@council.example (caseworker)" in out
    assert PASSWORD not in out
    assert main(["people", "add", "--name", "Ann Jones", "--budget", "5200"]) == 0
    assert main(["staff", "assign", "--email", "casey@council.example", "--person", "1"]) == 0
    assert "added to the caseload" in capsys.readouterr().out
    assert main(["staff", "list"]) == 0
    assert "casey@council.example\tcaseworker\tactive" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--password-env", "UNSET_VARIABLE"], "UNSET_VARIABLE is not set"),
        (["--password-env", "SHORT_PASSWORD"], "at least 12 characters"),
    ],
)
def test_staff_add_problems_are_one_line(
    database: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    fragment: str,
) -> None:
    monkeypatch.setenv("SHORT_PASSWORD", "short")
    code = main(["staff", "add", "--email", "a@council.example", "--role", "admin", *argv])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_there_is_no_password_option() -> None:
    with pytest.raises(SystemExit):
        main(["staff", "add", "--email", "a@b.example", "--role", "admin", "--password", "x"])


def test_the_prompt_asks_twice(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([PASSWORD, "something else entirely"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt: next(answers))
    code = main(["staff", "add", "--email", "a@council.example", "--role", "admin"])
    assert code == 2 and "not the same" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_codesign_dashboard_serves_alone(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _free_port()
    monkeypatch.setenv("WEB_PORT", str(port))
    stop = asyncio.Event()
    served = asyncio.create_task(serve_dashboard(load_settings(), stop=stop))
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"http://127.0.0.1:{port}/staff/login") as response:
                        assert response.status == 200
                        assert "Sign in" in await response.text()
                        break
                except aiohttp.ClientConnectorError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("the dashboard did not start")
            async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                assert health.status == 200
    finally:
        stop.set()
        assert await served == 0
