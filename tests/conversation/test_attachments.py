"""The budget chart and the plan PDF: what they look like, and where they are drawn."""

from __future__ import annotations

import io
import multiprocessing
from collections.abc import Iterator

import pytest
from PIL import Image

from bot import attachments
from dialogs.replies import Attachment

CHART = Attachment(
    "budget_chart",
    {  # as the conversation has it (dialogs.flow's budget view)
        "source": "estimate",
        "annual_pence": 703_625,
        "weekly_pence": 13_531,
        "planned_annual_pence": 203_625,
        "planned_weekly_pence": 3_916,
        "left_annual_pence": 500_000,
        "over_pence": 0,
        "by_goal": [{"goal": "Mynd i'r clwb garddio ŵ ŷ", "annual_pence": 203_625}],
    },
)


@pytest.fixture
def drawing() -> Iterator[None]:
    yield
    attachments.use_drawing_processes(1)  # as the settings have it


def _colours(png: bytes) -> set[tuple[int, int, int]]:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.mode == "P"
    return {colour for _, colour in image.convert("RGB").getcolors(maxcolors=256) or []}


async def test_the_chart_is_a_palette_png_in_the_chart_colours(drawing: None) -> None:
    name, png, caption = await attachments.drawn_attachment(CHART, "cy")
    assert name == "budget.png"
    assert "£7,036.25" in caption  # the same numbers as text, for screen readers
    colours = _colours(png)
    assert {(0x1D, 0x70, 0xB8), (0x00, 0x70, 0x3C), (0x0B, 0x0C, 0x0C)} <= colours
    assert len(colours) > 5, "letters keep their smoothed edges"
    assert len(png) < 10_000


async def test_attachments_are_drawn_in_a_separate_process(drawing: None) -> None:
    attachments.use_drawing_processes(1)
    await attachments.drawn_attachment(CHART, "en")
    assert multiprocessing.active_children(), "a drawing process is running"
    attachments.use_drawing_processes(0)  # stops it
    assert not multiprocessing.active_children()
    _, png, _ = await attachments.drawn_attachment(CHART, "en")
    assert not multiprocessing.active_children(), "0: drawn on a thread of this process"
    assert png.startswith(b"\x89PNG")


def _kill_drawing_processes() -> None:
    for child in multiprocessing.active_children():
        child.kill()
        child.join()


async def test_a_chart_still_arrives_when_the_drawing_process_dies(
    drawing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    attachments.use_drawing_processes(1)
    _, first, _ = await attachments.drawn_attachment(CHART, "en")
    _kill_drawing_processes()
    _, second, _ = await attachments.drawn_attachment(CHART, "en")
    assert second == first, "drawn on a thread while the process was gone"
    _, third, _ = await attachments.drawn_attachment(CHART, "en")
    assert third == first
    assert not multiprocessing.active_children(), "no new process during the cool-down"
    monkeypatch.setattr(attachments, "RESTART_AFTER_SECONDS", 0.0)
    _, fourth, _ = await attachments.drawn_attachment(CHART, "en")
    assert fourth == first
    assert multiprocessing.active_children(), "after it, a new drawing process"


def test_drawing_processes_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        attachments.use_drawing_processes(-1)
