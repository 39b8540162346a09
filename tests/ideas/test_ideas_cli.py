"""`codesign suggest` and `codesign check`: output, JSON and one-line errors (exit 2)."""

from __future__ import annotations

import argparse
import json

import pytest

from bot.commands import CommandError, ideas

EXIT_USAGE = 2


def run(argv: list[str]) -> int:
    # The same contract as bot/cli.py: a handler returns the exit code, CommandError means 2.
    parser = argparse.ArgumentParser(prog="codesign")
    ideas.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except CommandError as error:
        print(f"codesign: error: {error}")
        return EXIT_USAGE
    return code


def test_suggest_prints_ideas_with_costs(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["suggest", "I feel lonely", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "a week" in out and "a year" in out
    assert '"lonely"' in out


def test_suggest_json_parses_and_marks_budget(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["suggest", "I need therapy", "--json", "--budget-left", "500"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["areas"][0] == "health"
    first = payload["suggestions"][0]
    assert {
        "id",
        "name_cy",
        "weekly_pence",
        "annual_pence",
        "fits_budget",
        "alternative_to",
    } <= set(first)
    assert any(s["alternative_to"] == "therapy" for s in payload["suggestions"])
    assert any(s["fits_budget"] is False for s in payload["suggestions"])
    assert payload["cheaper_options"]


def test_check_with_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", "a dance class", "--cost", "8", "--per", "week"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Allowed")
    assert "£416.00 a year" in out


def test_check_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check", "wine tasting", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["verdict"], payload["rule_id"]) == ("not_allowed", "alcohol")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["suggest", "   "], "the goal is empty"),
        (["suggest", "lonely", "--budget-left", "lots"], "--budget-left: amount 'lots'"),
        (["suggest", "lonely", "--limit", "0"], "--limit must be between"),
        (["check", ""], "the idea is empty"),
        (["check", "gym", "--per", "week"], "--per needs --cost"),
        (["check", "gym", "--cost", "20"], "--cost needs --per"),
        (["check", "gym", "--cost", "-3", "--per", "month"], "--cost: amount '-3' is negative"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert run(argv) == EXIT_USAGE
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert message in out
