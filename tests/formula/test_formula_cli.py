"""`codesign budget`: exit codes, one-line errors, and JSON that parses."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

import bot.cli
from bot.commands import budget

SCHEMES = Path(__file__).resolve().parents[2] / "formula" / "schemes"

ANSWERS = """\
washing = "most_days"
toilet = "a_little"
meals = "none"
health = "none"
keeping_safe = "none"
home_safety = "none"
housework = "none"
choices = "none"
activities = "none"
out_and_about = "none"
family_friends = "none"
unpaid_carer = "no"

[contribution]
weekly_pence = 1000
"""


@pytest.fixture(autouse=True)
def only_the_budget_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # The other command modules belong to other engineers; the CLI's own main() is used as is.
    def modules() -> list[ModuleType]:
        return [budget]

    monkeypatch.setattr(bot.cli, "_command_modules", modules)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = bot.cli.main(["budget", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def answers_file(tmp_path: Path) -> Path:
    path = tmp_path / "answers.toml"
    path.write_text(ANSWERS, encoding="utf-8")
    return path


def test_budget_with_a_shipped_scheme(
    capsys: pytest.CaptureFixture[str], answers_file: Path
) -> None:
    code, out, err = run(capsys, "--scheme", "adult-2026", "--answers", str(answers_file))
    assert (code, err) == (0, "")
    # 12 points x £150 = £1,800 + 2.5% = £1,845; minus £10 x 52 = £520 -> £1,325; /52 = 25.48
    assert "Washing and dressing: 8 points" in out
    assert "Minus your contribution of £520.00 a year" in out
    assert out.rstrip().endswith("Indicative budget: £1,325.00 a year, £25.48 a week")


def test_budget_with_a_rules_file_as_json(
    capsys: pytest.CaptureFixture[str], answers_file: Path
) -> None:
    rules = SCHEMES / "adult_2026.toml"
    code, out, _ = run(capsys, "--rules", str(rules), "--answers", str(answers_file), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["annual_pence"] == 132500
    assert result["weekly_pence"] == 2548
    assert result["personal_budget_annual_pence"] == 184500
    assert sum(line["amount_pence"] for line in result["lines"]) == 132500
    assert result["lines"][0] == {
        "kind": "answer",
        "key": "washing",
        "points": 8,
        "amount_pence": 0,
        "values": {
            "question": "washing",
            "option": "most_days",
            "points": 8,
            "topic": "Washing and dressing",
        },
        "text": "Washing and dressing: 8 points",
    }


def test_check_and_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--rules", str(SCHEMES / "children_2026.toml"), "--check")
    assert code == 0 and "OK: children-2026" in out
    code, out, _ = run(capsys, "--scheme", "adult-2026", "--check", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, out, _ = run(capsys, "--list")
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == ["adult-2026", "children-2026"]
    code, out, _ = run(capsys, "--list", "--json")
    assert [row["id"] for row in json.loads(out)] == ["adult-2026", "children-2026"]


def bad_rules(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    text = (SCHEMES / "adult_2026.toml").read_text(encoding="utf-8")
    path.write_text(text.replace("floor_pence = 520_00", "floor_pence = 99_000_00"), "utf-8")
    return path


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--rules", "{tmp}/missing.toml", "--check"], "missing.toml: (file): file not found"),
        (["--rules", "{tmp}/broken.toml", "--check"], "broken.toml: (file): not valid TOML"),
        (["--rules", "{tmp}/bad.toml", "--check"], "bad.toml: allocation.floor_pence: the floor"),
        (["--scheme", "nope", "--check"], "no shipped scheme has the id 'nope'"),
        (["--scheme", "adult-2026"], "give --answers FILE"),
        (["--check"], "give --rules FILE or --scheme ID"),
        (["--scheme", "adult-2026", "--answers", "{tmp}/none.toml"], "none.toml: file not found"),
        (
            ["--scheme", "children-2026", "--answers", "{tmp}/answers.toml"],
            "answers.toml: question 'washing' has no option 'most_days'",
        ),
        (["--list", "--scheme", "adult-2026"], "--list takes no other options"),
    ],
)
def test_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    answers_file: Path,
    argv: list[str],
    words: str,
) -> None:
    (tmp_path / "broken.toml").write_text("[scheme\n", encoding="utf-8")
    bad_rules(tmp_path)
    code, out, err = run(capsys, *[arg.format(tmp=tmp_path) for arg in argv])
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("codesign: error: ")
    assert words in err


def test_register_sets_a_handler() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    budget.register(parser.add_subparsers())
    args = parser.parse_args(["budget", "--list"])
    assert args.handler is budget.run
