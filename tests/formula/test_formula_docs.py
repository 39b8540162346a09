"""The example in docs/rules-format.md is a valid rules file and its worked figures hold."""

from __future__ import annotations

import re
from pathlib import Path

from formula import Answers, allocate, parse_scheme_text

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules-format.md"


def example_text() -> str:
    blocks: list[str] = re.findall(
        r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL
    )
    return next(block for block in blocks if "[scheme]" in block)


def test_the_documented_example_gives_the_documented_figures() -> None:
    scheme = parse_scheme_text(example_text(), source="docs/rules-format.md")
    allocation = allocate(
        Answers({"washing": "some", "safe": "lots", "carer": "yes"}, 2000), scheme
    )
    # Hand calculation from the doc: 10 + 20 x 150% = 40 points, band 10-40 = £100 x 52.
    assert allocation.points == 40
    assert allocation.band is not None and allocation.band.id == "some"
    assert allocation.personal_budget_annual_pence == 520000 + 13000 + 52000
    assert allocation.personal_budget_weekly_pence == 11250
    assert allocation.contribution_annual_pence == 104000
    assert allocation.annual_pence == 481000
    assert allocation.weekly_pence == 9250
