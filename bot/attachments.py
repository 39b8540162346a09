"""Pictures and documents the conversation sends: the budget chart and the plan as a PDF.

The caption or message beside each carries the same numbers as text, for screen readers.
"""

from __future__ import annotations

import asyncio
import atexit
import io
import json
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from pathlib import Path
from typing import Any

from bot.texts import render
from dialogs.replies import Attachment
from formula.money import format_pounds

logger = logging.getLogger(__name__)

# Letters the documents and charts need: Latin with its accents (Welsh ŵ ŷ among them),
# punctuation, currency and arrows. U+0020-U+024F, U+2010-U+205F, £ in Latin-1, € and ™.
_LETTERS = [*range(0x20, 0x250), *range(0x2010, 0x2060), 0x20AC, 0x2122, 0x2190, 0x2192]


# In a drawing process, the folder its parent made (given by `_drawing_process_started`).
_given_font_folder: Path | None = None


@cache
def _font_folder() -> Path:
    """Where the cut-down font is kept: one private folder per bot process, shared with its
    drawing processes, removed when the bot stops (a drawing process that is killed leaves
    nothing behind)."""
    if _given_font_folder is not None:
        return _given_font_folder
    folder = Path(tempfile.mkdtemp(prefix="codesign-fonts-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@cache
def _font_path() -> Path:
    """DejaVu Sans cut down to `_LETTERS`, made once in `_font_folder()`.

    matplotlib ships DejaVu Sans, which has every Welsh letter; no system font is needed.
    The whole font has 6,000 glyphs: reading it cost fpdf2 half of every PDF's time.
    """
    path = _font_folder() / "DejaVuSans-Latin.ttf"
    if path.exists():  # made by the bot's process or another drawing process
        return path
    import matplotlib
    from fontTools import subset

    whole = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    font = subset.load_font(str(whole), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_LETTERS)
    subsetter.subset(font)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    subset.save_font(font, str(partial), options)
    os.replace(partial, path)  # whole or not at all, when two processes make it at once
    return path


@cache
def _chart_font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(_font_path()), size)


# The chart, in pixels: bars in rows under a title, labels on the left, amounts after.
_WIDTH, _ROW, _BAR, _MARGIN, _LABEL_WIDTH = 800, 56, 34, 24, 280
_WHITE, _INK, _AXIS, _BLUE, _GREEN = "#ffffff", "#0b0c0c", "#505a5f", "#1d70b8", "#00703c"


@cache
def _chart_palette() -> Any:
    """The chart's colours, and the greys between white and the two text colours that
    smooth the letters' edges: a PNG of palette indices is a third of the size of an RGB
    one and takes a quarter of the time to write."""
    from PIL import Image, ImageColor

    solid = [ImageColor.getrgb(colour) for colour in (_WHITE, _INK, _AXIS, _BLUE, _GREEN)]
    edges = [
        tuple(round(255 + (part - 255) * step / 16) for part in ImageColor.getrgb(ink))
        for ink in (_INK, _AXIS)
        for step in range(1, 16)
    ]
    palette = Image.new("P", (1, 1))
    palette.putpalette([part for colour in solid + edges for part in colour])
    return palette


def budget_chart_png(data: Mapping[str, Any], language: str) -> bytes:
    """A bar chart: the budget against what is planned, by goal.

    Drawn with Pillow (matplotlib took 125 ms of CPU for this chart, Pillow about 3 ms) and
    written with the chart's own palette (as RGB, the PNG took 10 ms and 16 KB; now 3 ms and
    6 KB).
    """
    from PIL import Image, ImageDraw

    rows = [(render("chart.budget", language), int(data["annual_pence"]), _BLUE)]
    for row in data.get("by_goal", []):
        goal = str(row["goal"]) or render("chart.no_goal", language)
        rows.append(
            (goal if len(goal) <= 28 else goal[:27] + "…", int(row["annual_pence"]), _GREEN)
        )
    rows.append((render("chart.left", language), max(int(data["left_annual_pence"]), 0), _AXIS))

    title_font, font, small = _chart_font(24), _chart_font(18), _chart_font(16)
    top = _MARGIN + 48
    height = top + _ROW * len(rows) + 56
    image = Image.new("RGB", (_WIDTH, height), _WHITE)
    draw = ImageDraw.Draw(image)
    draw.text((_MARGIN, _MARGIN), render("chart.title", language), font=title_font, fill=_INK)
    bars_left = _MARGIN + _LABEL_WIDTH
    bars_width = _WIDTH - bars_left - _MARGIN - 120  # room for the amount after the longest bar
    largest = max([pence for _, pence, _ in rows] + [1])
    for number, (label, pence, colour) in enumerate(rows):
        y = top + number * _ROW
        middle = y + _BAR // 2
        draw.text((bars_left - 10, middle), label, font=font, fill=_INK, anchor="rm")
        length = round(bars_width * pence / largest)
        if length:
            draw.rectangle((bars_left, y, bars_left + length, y + _BAR), fill=colour)
        amount = format_pounds(pence)
        draw.text((bars_left + length + 8, middle), amount, font=font, fill=_INK, anchor="lm")
    axis_y = top + _ROW * len(rows) - (_ROW - _BAR) // 2
    draw.line((bars_left, top - 8, bars_left, axis_y), fill=_AXIS, width=2)
    axis_label = render("chart.axis", language)
    draw.text((bars_left, axis_y + 14), axis_label, font=small, fill=_AXIS, anchor="la")
    out = io.BytesIO()
    image.quantize(palette=_chart_palette(), dither=Image.Dither.NONE).save(out, format="PNG")
    return out.getvalue()


def plan_pdf(data: Mapping[str, Any], language: str) -> bytes:
    """The confirmed plan under the support-plan headings, as a PDF document."""
    body = render("pdf.body", language, dict(data))
    return _pdf(render("pdf.title", language), body.split("\n"))


def _pdf(title: str, paragraphs: list[str]) -> bytes:
    """A plain A4 document; paragraphs starting "## " are headings.

    Text the PDF standard fonts can show (Windows-1252: English with £, € and curly
    quotes) is set in Helvetica, which every PDF reader has: nothing is embedded, and a
    plan is 1.6 KB instead of 13 KB and drawn in a fifth of the time. Other text (Welsh
    ŵ and ŷ) gets the cut-down DejaVu Sans, embedded. Lines are broken here, between
    words: fpdf2's multi_cell measured the line again for every letter it added.
    """
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = _CORE_ENCODING
    pdf.set_auto_page_break(auto=True, margin=15)
    family = "helvetica"
    if not _core_font_can_show([title, *paragraphs]):
        family = "DejaVu"
        pdf.add_font(family, "", str(_font_path()))
    pdf.add_page()
    pdf.set_title(title)
    width = pdf.epw - 2 * pdf.c_margin  # a cell pads its text on both sides

    def write(text: str, size: int, line_height: int) -> None:
        pdf.set_font(family, size=size)
        for line in _lines(text, width, pdf.get_string_width):
            pdf.cell(0, line_height, line, new_x="LMARGIN", new_y="NEXT")

    write(title, 18, 10)
    for paragraph in paragraphs:
        if paragraph.startswith("## "):
            pdf.ln(3)
            write(paragraph[3:], 14, 8)
        else:
            write(paragraph, 11, 6)
    return bytes(pdf.output())


_CORE_ENCODING = "windows-1252"


def _core_font_can_show(texts: list[str]) -> bool:
    try:
        "".join(texts).encode(_CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _lines(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """`text` in lines no wider than `width`, broken between words (inside a word only
    when it is wider than a line by itself, as a long web address can be)."""
    space = measure(" ")
    lines: list[str] = []
    line, used = "", 0.0
    for word in text.split(" "):
        size = measure(word)
        while size > width:
            if line:
                lines.append(line)
                line, used = "", 0.0
            cut = _fitting_prefix(word, width, measure)
            lines.append(word[:cut])
            word = word[cut:]
            size = measure(word)
        if not line:
            line, used = word, size
        elif used + space + size <= width:
            line, used = f"{line} {word}", used + space + size
        else:
            lines.append(line)
            line, used = word, size
    lines.append(line)
    return lines


def _fitting_prefix(word: str, width: float, measure: Callable[[str], float]) -> int:
    """How many letters of `word` fit in `width` (at least one)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(word[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def my_data_pdf(data: Mapping[str, Any], language: str) -> bytes:
    """Everything stored about a person, as a document they can read."""
    paragraphs: list[str] = []
    for section, content in dict(data["export"]).items():
        paragraphs.append("## " + section.replace("_", " ").capitalize())
        rows = content if isinstance(content, list) else [content]
        if not rows:
            paragraphs.append("-")
        for row in rows:
            if isinstance(row, Mapping):
                paragraphs += [f"{key}: {_short(value)}" for key, value in row.items()]
                paragraphs.append("")
            else:
                paragraphs.append(_short(row))
    title = render("rights.document_title", language, {"name": data["name"]})
    return _pdf(title, paragraphs)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 2000 else text[:2000] + "…"


# Charts and PDFs are drawn in a separate process: a chart takes about 3 ms of CPU and a
# PDF 4-20 ms (26-45 ms before Helvetica and the line breaking above), which in this
# process would hold the interpreter lock against every other chat's update (on a thread
# they did: drawing was a quarter of the bot's CPU time).
# One process draws (matplotlib's font and fpdf2 are not documented as thread-safe); it
# starts with the bot and builds its font once. `use_drawing_processes(0)` draws on a
# thread of this process instead, for machines where a second process is not wanted.
_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attachments")
_drawing_processes = 1
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()
# After the drawing process dies or cannot start, attachments are drawn on the thread for
# this long before a new process is tried (a process that cannot start must not cost every
# chart its attempt).
RESTART_AFTER_SECONDS = 30.0
_broken_at: float | None = None
# How starting a process, or handing it work, fails: no /dev/shm or semaphores
# (NotImplementedError, ImportError), a process or file limit (OSError), a pool being
# stopped (RuntimeError).
_CANNOT_START = (OSError, NotImplementedError, ImportError, RuntimeError)


def use_drawing_processes(count: int) -> None:
    """How many processes draw attachments; 0 draws them on a thread of this process."""
    global _drawing_processes, _broken_at
    if count < 0:
        raise ValueError("the number of drawing processes cannot be negative")
    stop_drawing()
    _drawing_processes = count
    _broken_at = None


def start_drawing() -> None:
    """Start the drawing processes now (they build their font), not at the first chart.

    A process that cannot start is logged, and attachments are drawn on a thread."""
    pool = _drawing_pool()
    if pool is None:
        return
    try:
        pool.submit(_font_path)
    except _CANNOT_START as error:
        _forget_pool(pool, error)


def stop_drawing() -> None:
    """Stop the drawing processes, once what they were given is drawn."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)


def drawing_process_ids() -> list[int]:
    """The process ids of the drawing processes running now (none before the first chart,
    with `use_drawing_processes(0)`, or while attachments are drawn on the thread)."""
    with _pool_lock:
        pool = _pool
    return sorted(getattr(pool, "_processes", None) or ())


def _drawing_process_started(font_folder: str) -> None:
    """Set up a drawing process: its font in the bot's folder, and Ctrl-C left to the bot
    (the terminal sends it to both; the bot stops its drawing processes itself, after the
    updates in flight are finished)."""
    global _given_font_folder
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _given_font_folder = Path(font_folder)


def _drawing_pool() -> ProcessPoolExecutor | None:
    global _pool, _broken_at
    with _pool_lock:
        if _broken_at is not None and time.monotonic() - _broken_at < RESTART_AFTER_SECONDS:
            return None
        if _pool is None and _drawing_processes:
            try:
                _pool = ProcessPoolExecutor(
                    _drawing_processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_drawing_process_started,
                    initargs=(str(_font_folder()),),
                )
            except _CANNOT_START as error:
                _broken_at = time.monotonic()
                _log_drawing_on_thread(error)
        return _pool


def _forget_pool(broken: ProcessPoolExecutor, error: BaseException) -> None:
    global _pool, _broken_at
    with _pool_lock:
        if _pool is broken:
            _pool = None
            _broken_at = time.monotonic()
    _log_drawing_on_thread(error)
    broken.shutdown(wait=False, cancel_futures=True)


def _log_drawing_on_thread(error: BaseException) -> None:
    logger.warning(
        "the drawing process stopped or could not start (%s); drawing on a thread for %.0f s",
        error,
        RESTART_AFTER_SECONDS,
    )


async def drawn_attachment(attachment: Attachment, language: str) -> tuple[str, bytes, str]:
    """The file name, bytes and caption (the same numbers, as text) of an attachment, drawn
    off the event loop: in the drawing process, or on a thread if it died or cannot start."""
    name = _FILE_NAMES.get(attachment.kind)
    if name is None:
        raise ValueError(f"unknown attachment {attachment.kind!r}")
    caption = render(f"attachments.{attachment.kind}", language, dict(attachment.data))
    loop = asyncio.get_running_loop()
    drawing = (attachment.kind, dict(attachment.data), language)
    pool = _drawing_pool()
    if pool is not None:
        try:
            drawn = loop.run_in_executor(pool, attachment_content, *drawing)
        except _CANNOT_START as error:
            _forget_pool(pool, error)
        else:
            try:
                return name, await drawn, caption
            except BrokenProcessPool as error:
                _forget_pool(pool, error)
    return name, await loop.run_in_executor(_THREAD, attachment_content, *drawing), caption


_FILE_NAMES = {
    "budget_chart": "budget.png",
    "plan_pdf": "support-plan.pdf",
    "mydata_document": "my-data.pdf",
    "mydata_json": "my-data.json",
}


def attachment_content(kind: str, data: Mapping[str, Any], language: str) -> bytes:
    """An attachment's bytes (this runs in the drawing process)."""
    if kind == "budget_chart":
        return budget_chart_png(data, language)
    if kind == "plan_pdf":
        return plan_pdf(data, language)
    if kind == "mydata_document":
        return my_data_pdf(data, language)
    if kind == "mydata_json":
        return json.dumps(data["export"], ensure_ascii=False, indent=2, default=str).encode()
    raise ValueError(f"unknown attachment {kind!r}")
