"""`codesign people add`: a budget set up by staff, reached in the chat with a one-time code."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from bot.cli import main
from formula.money import format_pounds
from formula.schemes import load_shipped_scheme


def add(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["people", "add", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_code_printed_once_and_accepted_once_in_the_chat(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = add(capsys, "--name", "Ann Jones", "--budget", "5,200")
    assert status == 0
    assert "£5,200.00 a year" in out
    found = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2}", out)
    assert found is not None
    script = f"/start\n1\n1\n1\n1\n{found.group(0)}\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main(["chat", "--user", "3"]) == 0
    assert "£5,200.00 a year (£100.00 a week)" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main(["chat", "--user", "4"]) == 0
    assert "did not work" in capsys.readouterr().out


def test_budget_from_a_scheme_and_answers(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scheme = load_shipped_scheme("adult-2026")
    # The lowest-scoring option of every question: no needs scored, so the scheme's floor.
    lines = [f'{q.id} = "{min(q.options, key=lambda o: o.points).id}"' for q in scheme.questions]
    answers = clean_env / "answers.toml"
    answers.write_text("\n".join(lines) + "\n[contribution]\nweekly_pence = 0\n")
    status, out, err = add(
        capsys, "--name", "Bob", "--scheme", "adult-2026", "--answers", str(answers)
    )
    assert status == 0, err
    assert f"{format_pounds(scheme.floor_pence)} a year" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--name", "Ann", "--budget", "lots"], "--budget"),
        (["--name", "Ann"], "give --budget"),
        (["--name", " ", "--budget", "5"], "--name"),
        (["--name", "Ann", "--budget", "5", "--valid-days", "0"], "--valid-days"),
        (["--name", "Ann", "--budget", "5", "--scheme", "adult-2026"], "not both"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    clean_env: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    status, _, err = add(capsys, *args)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and fragment in err
