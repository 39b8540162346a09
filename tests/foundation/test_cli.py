"""The `codesign` command as a person runs it.

One test runs the real console process, as the README's acceptance check does; the rest
call the same entry point in-process, which is quicker and just as real.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.storage import migrate

ENV_NAMES = (
    "DATABASE_URL",
    "BOT_TOKEN",
    "BOT_API_BASE_URL",
    "DEFAULT_LANGUAGE",
    "DATA_DIR",
    "LOG_LEVEL",
)


def run_process(
    cwd: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=120,
        check=False,
    )


def chat(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["chat", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_piped_chat_process_prints_replies_and_the_answer_to_the_button(tmp_path: Path) -> None:
    result = run_process(tmp_path, "chat", stdin="/start\n1\n")
    assert result.returncode == 0, result.stderr
    assert "Hello, Sam." in result.stdout
    assert "[1] English" in result.stdout
    assert "Are you happy to go on?" in result.stdout
    assert (tmp_path / "var" / "codesign.db").exists()
    bad = run_process(tmp_path, "chat", DATABASE_URL="nonsense://x")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "DATABASE_URL" in bad.stderr


def test_chat_remembers_the_step_between_runs(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chat(monkeypatch, capsys, "--user", "9", stdin="/start\n1\n")
    code, out, _ = chat(monkeypatch, capsys, "--user", "9", stdin="/help\n")
    assert code == 0
    assert "How this works" in out and "Are you happy to go on?" in out  # help, then the step


def test_typing_a_button_label_presses_it(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = chat(monkeypatch, capsys, stdin="/start\ncymraeg\n")
    assert "Ydych chi'n hapus i barhau?" in out


def test_different_users_are_different_people(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chat(monkeypatch, capsys, "--user", "1", stdin="/start\n2\n")
    _, out, _ = chat(monkeypatch, capsys, "--user", "2", "--name", "Bob", stdin="/help\n")
    assert "Send /start to begin." in out


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DATABASE_URL", "nonsense://x"), ("LOG_LEVEL", "LOUD"), ("DEFAULT_LANGUAGE", "xx")],
)
def test_bad_setting_is_one_line_and_exit_2(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    code, _, err = chat(monkeypatch, capsys, stdin="")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], err


def test_unreachable_database_is_one_line_and_exit_2(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "DATABASE_URL" in err


def test_db_upgrade_and_current(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    out = capsys.readouterr().out
    head = migrate.head_revision()
    assert f"is at revision {head}" in out
    assert out.splitlines()[-1].startswith(f"{head};")


def test_bad_user_id_is_one_line_and_exit_2(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = chat(monkeypatch, capsys, "--user", "0", stdin="")
    assert code == 2
    assert "--user" in err


def test_no_command_prints_help_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "chat" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [["chat", "--language", "xx"], ["no-such-command"], ["chat", "--user", "abc"]],
)
def test_usage_mistakes_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(args)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "error:" in err


def test_audit_verify_counts_rows_and_chains_and_names_a_changed_row(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["people", "add", "--name", "Ann", "--budget", "5200"]) == 0
    assert main(["audit", "verify"]) == 0
    intact = capsys.readouterr().out.strip().splitlines()[-1]
    assert intact.startswith("Audit log intact:") and intact.endswith("on 1 chain.")
    database = sqlite3.connect(clean_env / "var" / "codesign.db")
    with database:
        database.execute("UPDATE audit_log SET actor_id = 'someone else'")
    database.close()
    assert main(["audit", "verify"]) == 1
    broken = capsys.readouterr().out.strip().splitlines()[-1]
    assert broken.startswith("Audit log BROKEN after 0 good rows: row 1 was changed")


def test_audit_verify_shows_how_far_it_is_on_standard_error(
    clean_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.commands import records

    assert main(["people", "add", "--name", "Ann", "--budget", "5200"]) == 0
    assert main(["people", "add", "--name", "Cai", "--budget", "5200"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(records._Progress, "EVERY_SECONDS", 0.0)  # every batch, not every 3 s
    assert main(["audit", "verify"]) == 0
    captured = capsys.readouterr()
    rows = int(captured.out.split(" rows checked")[0].rsplit(" ", 1)[1])
    assert rows >= 2
    assert captured.err.strip().splitlines() == [f"Checked {rows:,} of {rows:,} rows (100%) ..."]
