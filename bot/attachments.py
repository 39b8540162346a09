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


@cache
def _font_path() -> Path:
    # matplotlib ships DejaVu Sans, which has every Welsh letter (ŵ, ŷ); no system font needed.
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def budget_chart_png(data: Mapping[str, Any], language: str) -> bytes:
    """A bar chart: the budget against what is planned, by goal."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = [render("chart.budget", language)]
    values = [int(data["annual_pence"]) / 100]
    colours = ["#1d70b8"]
    for row in data.get("by_goal", []):
        goal = str(row["goal"]) or render("chart.no_goal", language)
        labels.append(goal if len(goal) <= 28 else goal[:27] + "…")
        values.append(int(row["annual_pence"]) / 100)
        colours.append("#00703c")
    labels.append(render("chart.left", language))
    values.append(max(int(data["left_annual_pence"]), 0) / 100)
    colours.append("#505a5f")

    figure = Figure(figsize=(6.4, 0.6 * len(labels) + 1.2), dpi=120)
    axes = figure.subplots()
    bars = axes.barh(labels[::-1], values[::-1], color=colours[::-1])
    axes.bar_label(bars, labels=[format_pounds(round(v * 100)) for v in values[::-1]], padding=3)
    axes.set_xlabel(render("chart.axis", language))
    axes.set_title(render("chart.title", language))
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_xlim(0, max([*values, 1.0]) * 1.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
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
