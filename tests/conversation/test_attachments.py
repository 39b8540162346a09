"""The budget chart and the plan PDF: what they look like, and where they are drawn."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import signal
import tempfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

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
    (drawer,) = attachments.drawing_process_ids()
    assert drawer != os.getpid()
    assert drawer in {child.pid for child in multiprocessing.active_children()}
    attachments.use_drawing_processes(0)  # stops it
    assert attachments.drawing_process_ids() == []
    assert drawer not in {child.pid for child in multiprocessing.active_children()}
    _, png, _ = await attachments.drawn_attachment(CHART, "en")
    assert attachments.drawing_process_ids() == [], "0: drawn on a thread of this process"
    assert png.startswith(b"\x89PNG")


def _kill_drawing_processes() -> None:
    for pid in attachments.drawing_process_ids():
        os.kill(pid, signal.SIGKILL)
    for child in multiprocessing.active_children():  # reaped, so the pool sees them gone
        child.join(timeout=0.1)


async def test_a_chart_still_arrives_when_the_drawing_process_dies(
    drawing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    attachments.use_drawing_processes(1)
    _, first, _ = await attachments.drawn_attachment(CHART, "en")
    (killed,) = attachments.drawing_process_ids()
    _kill_drawing_processes()
    _, second, _ = await attachments.drawn_attachment(CHART, "en")
    assert second == first, "drawn on a thread while the process was gone"
    _, third, _ = await attachments.drawn_attachment(CHART, "en")
    assert third == first
    assert attachments.drawing_process_ids() == [], "no new process during the cool-down"
    monkeypatch.setattr(attachments, "RESTART_AFTER_SECONDS", 0.0)
    _, fourth, _ = await attachments.drawn_attachment(CHART, "en")
    assert fourth == first
    (restarted,) = attachments.drawing_process_ids()
    assert restarted != killed, "after it, a new drawing process"


async def test_ctrl_c_is_left_to_the_bot_not_the_drawing_process(drawing: None) -> None:
    """The terminal sends Ctrl-C to the drawing process too; the bot, still finishing the
    updates in flight, stops it afterwards."""
    attachments.use_drawing_processes(1)
    _, first, _ = await attachments.drawn_attachment(CHART, "en")
    (drawer,) = attachments.drawing_process_ids()
    os.kill(drawer, signal.SIGINT)
    await asyncio.sleep(0.2)
    _, second, _ = await attachments.drawn_attachment(CHART, "en")
    assert second == first
    assert attachments.drawing_process_ids() == [drawer], "the same process drew it"


class _NoSemaphores(ProcessPoolExecutor):
    """A machine without /dev/shm: the standard library cannot make a process pool."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("no working sem_open on this machine")


async def test_charts_are_drawn_on_a_thread_when_no_process_can_start(
    drawing: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(attachments, "ProcessPoolExecutor", _NoSemaphores)
    attachments.use_drawing_processes(1)
    attachments.start_drawing()  # as the bot starts: no error, a warning
    assert "could not start" in caplog.text
    _, png, caption = await attachments.drawn_attachment(CHART, "en")
    assert png.startswith(b"\x89PNG") and "£7,036.25" in caption
    assert attachments.drawing_process_ids() == []


def _font_folders(folder: Path) -> set[str]:
    """What is in the one font folder under `folder` (there must be exactly one)."""
    (fonts,) = folder.glob("codesign-fonts-*")
    return {path.name for path in fonts.iterdir()}


async def test_drawing_processes_share_one_font_folder_and_leave_none_behind(
    drawing: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # for the drawing processes
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # for this one
    monkeypatch.setattr(attachments, "RESTART_AFTER_SECONDS", 0.0)
    attachments._font_folder.cache_clear()
    attachments._font_path.cache_clear()
    try:
        attachments.use_drawing_processes(1)
        for _ in range(2):  # a process, killed; the thread; a new process
            await attachments.drawn_attachment(CHART, "en")
            _kill_drawing_processes()
            await attachments.drawn_attachment(CHART, "en")
        await attachments.drawn_attachment(CHART, "en")
        assert attachments.drawing_process_ids()
        assert _font_folders(tmp_path) == {"DejaVuSans-Latin.ttf"}
    finally:
        attachments.use_drawing_processes(1)
        attachments._font_folder.cache_clear()
        attachments._font_path.cache_clear()


def test_drawing_processes_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="negative"):
        attachments.use_drawing_processes(-1)


def _plan(goal: str, language: str = "en") -> Attachment:
    """A confirmed plan as the conversation hands it over (dialogs.flow's summary)."""
    return Attachment(
        "plan_pdf",
        {
            "acting_for": "self",
            "budget_annual_pence": 703_625,
            "budget_weekly_pence": 13_531,
            "estimate": True,
            "goals": [{"areas": ["participation"], "proposed_by": "", "text": goal}],
            "items": [
                {
                    "annual_pence": 343_200,
                    "frequency": "per_session",
                    "goal": goal,
                    "name": "Support to get out in the community",
                    "needs_approval": False,
                    "proposed_by": "",
                    "reason": "",
                    "sessions": "1",
                    "unit_pence": 6_600,
                    "weekly_pence": 6_600,
                }
            ],
            "language": language,
            "left_annual_pence": 360_425,
            "left_weekly_pence": 6_931,
            "management": "direct_payment",
            "over_pence": 0,
            "planned_annual_pence": 343_200,
            "planned_weekly_pence": 6_600,
        },
    )


def _read(pdf: bytes) -> tuple[str, set[str], bool, int]:
    """A PDF's text, its fonts, whether a font is embedded, and its number of pages."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    fonts = {
        str(font.get_object()["/BaseFont"]).split("+")[-1].lstrip("/")
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    embedded = b"/FontFile2" in pdf
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text, fonts, embedded, len(reader.pages)


def _flat(text: str) -> str:
    return " ".join(text.split())


async def test_an_english_plan_uses_a_standard_font_and_has_the_whole_plan(
    drawing: None,
) -> None:
    goal = "I’d like to go to the gardening club – with my neighbour “Bob” – on Fridays"
    name, pdf, caption = await attachments.drawn_attachment(_plan(goal), "en")
    assert name == "support-plan.pdf" and pdf.startswith(b"%PDF")
    text, fonts, embedded, pages = _read(pdf)
    assert fonts == {"Helvetica"} and not embedded and pages == 1
    assert len(pdf) < 4_000
    flat = _flat(text)
    assert goal in flat  # curly quotes and dashes: in the standard fonts' encoding
    assert "£66.00 a week (£3,432.00 a year)" in flat
    assert "£7,036.25 a year" in flat and "£7,036.25" in caption


async def test_text_beyond_the_standard_fonts_gets_the_embedded_font(drawing: None) -> None:
    goal = "Mynd i'r clwb garddio gyda fy ŵyr a'm ŷd"  # ŵ and ŷ: not in Windows-1252
    _, pdf, _ = await attachments.drawn_attachment(_plan(goal, "cy"), "cy")
    text, fonts, embedded, pages = _read(pdf)
    assert fonts == {"DejaVuSansBook"} and embedded and pages == 1
    assert goal in _flat(text)
    assert "£66.00 yr wythnos" in _flat(text)


async def test_a_long_document_breaks_long_words_and_runs_onto_more_pages(
    drawing: None,
) -> None:
    address = "https://example.org/" + "very-long-path/" * 20  # wider than a line
    rows = [{"body": f"message {n}: {address}"} for n in range(60)]
    export = Attachment("mydata_document", {"export": {"messages": rows}, "name": "Ann"})
    _, pdf, _ = await attachments.drawn_attachment(export, "en")
    text, _, _, pages = _read(pdf)
    assert pages > 3
    assert all(f"body: message {n}:" in text for n in range(60))
    assert text.replace("\n", "").count(address) == 60  # cut across lines, nothing lost


def _widest(lines: list[str]) -> int:
    return max(len(line) for line in lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the quick brown fox jumps", ["the quick", "brown fox", "jumps"]),
        ("a " + "x" * 23 + " b", ["a", "x" * 10, "x" * 10, "xxx b"]),
        ("", [""]),
        ("exactly ten", ["exactly", "ten"]),
        ("tenletters", ["tenletters"]),
    ],
)
def test_lines_break_between_words_and_inside_a_word_only_when_it_is_too_wide(
    text: str, expected: list[str]
) -> None:
    lines = attachments._lines(text, 10, len)  # a monospace measure: 1 a letter
    assert lines == expected
    assert _widest(lines) <= 10
