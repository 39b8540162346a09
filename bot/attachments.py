"""Pictures and documents the conversation sends: the budget chart and the plan as a PDF.

The caption or message beside each carries the same numbers as text, for screen readers.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any

from bot.texts import render
from dialogs.replies import Attachment
from formula.money import format_pounds

# Letters the documents and charts need: Latin with its accents (Welsh ŵ ŷ among them),
# punctuation, currency and arrows. U+0020-U+024F, U+2010-U+205F, £ in Latin-1, € and ™.
_LETTERS = [*range(0x20, 0x250), *range(0x2010, 0x2060), 0x20AC, 0x2122, 0x2190, 0x2192]


@cache
def _font_path() -> Path:
    """DejaVu Sans cut down to `_LETTERS`, made once per process in a private folder.

    matplotlib ships DejaVu Sans, which has every Welsh letter; no system font is needed.
    The whole font has 6,000 glyphs: reading it cost fpdf2 half of every PDF's time.
    """
    import atexit
    import shutil
    import tempfile

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
    folder = Path(tempfile.mkdtemp(prefix="codesign-fonts-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)  # no folder left per process
    path = folder / "DejaVuSans-Latin.ttf"
    subset.save_font(font, str(path), options)
    return path


@cache
def _chart_font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(_font_path()), size)


# The chart, in pixels: bars in rows under a title, labels on the left, amounts after.
_WIDTH, _ROW, _BAR, _MARGIN, _LABEL_WIDTH = 800, 56, 34, 24, 280
_INK, _AXIS = "#0b0c0c", "#505a5f"


def budget_chart_png(data: Mapping[str, Any], language: str) -> bytes:
    """A bar chart: the budget against what is planned, by goal.

    Drawn with Pillow: matplotlib took 125 ms of CPU for this chart, Pillow about 5 ms.
    """
    from PIL import Image, ImageDraw

    rows = [(render("chart.budget", language), int(data["annual_pence"]), "#1d70b8")]
    for row in data.get("by_goal", []):
        goal = str(row["goal"]) or render("chart.no_goal", language)
        rows.append(
            (goal if len(goal) <= 28 else goal[:27] + "…", int(row["annual_pence"]), "#00703c")
        )
    rows.append((render("chart.left", language), max(int(data["left_annual_pence"]), 0), _AXIS))

    title_font, font, small = _chart_font(24), _chart_font(18), _chart_font(16)
    top = _MARGIN + 48
    height = top + _ROW * len(rows) + 56
    image = Image.new("RGB", (_WIDTH, height), "white")
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
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def plan_pdf(data: Mapping[str, Any], language: str) -> bytes:
    """The confirmed plan under the support-plan headings, as a PDF document."""
    body = render("pdf.body", language, dict(data))
    return _pdf(render("pdf.title", language), body.split("\n"))


def _pdf(title: str, paragraphs: list[str]) -> bytes:
    """A plain A4 document; paragraphs starting "## " are headings."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(_font_path()))
    pdf.add_page()
    pdf.set_title(title)
    pdf.set_font("DejaVu", size=18)
    pdf.multi_cell(0, 10, title, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.set_font("DejaVu", size=11)
    for paragraph in paragraphs:
        if paragraph.startswith("## "):
            pdf.ln(3)
            pdf.set_font("DejaVu", size=14)
            pdf.multi_cell(0, 8, paragraph[3:], new_x="LMARGIN", new_y="NEXT", align="L")
            pdf.set_font("DejaVu", size=11)
        else:
            pdf.multi_cell(0, 6, paragraph or " ", new_x="LMARGIN", new_y="NEXT", align="L")
    return bytes(pdf.output())


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


# One thread draws charts and PDFs: a chart or a PDF takes 100-300 ms of CPU, which on the
# event loop would stall every other chat's update (and SQLite writers waiting on them).
# One thread, because matplotlib and fpdf2 are not documented as thread-safe.
_DRAWING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attachments")


async def drawn_attachment(attachment: Attachment, language: str) -> tuple[str, bytes, str]:
    """`attachment_file`, drawn off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_DRAWING, attachment_file, attachment, language)


def attachment_file(attachment: Attachment, language: str) -> tuple[str, bytes, str]:
    """The file name, bytes and caption (the same numbers, as text) of an attachment."""
    caption = render(f"attachments.{attachment.kind}", language, dict(attachment.data))
    if attachment.kind == "budget_chart":
        return "budget.png", budget_chart_png(attachment.data, language), caption
    if attachment.kind == "plan_pdf":
        return "support-plan.pdf", plan_pdf(attachment.data, language), caption
    if attachment.kind == "mydata_document":
        return "my-data.pdf", my_data_pdf(attachment.data, language), caption
    if attachment.kind == "mydata_json":
        content = json.dumps(attachment.data["export"], ensure_ascii=False, indent=2, default=str)
        return "my-data.json", content.encode(), caption
    raise ValueError(f"unknown attachment {attachment.kind!r}")
