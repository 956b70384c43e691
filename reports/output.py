"""HTML (Jinja templates), the XLSX workbook and the PDF (headless Chromium) of a report."""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from minhu.calendar import TZ

from . import render
from .document import Report
from .formatting import CENT, DASH, dec, fmt_count, fmt_met, fmt_pct, wan

TEMPLATES = Path(__file__).parent / "templates"


def env() -> Environment:
    e = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    e.filters["pct"] = fmt_pct
    e.filters["count"] = fmt_count
    return e


def render_html(report: Report, template: str, inline: bool) -> str:
    """The body; inline=True: charts as cid: references (email), else data: URIs (archive, PDF)."""
    return (
        env()
        .get_template(template)
        .render(
            report=report,
            src=(lambda c: f"cid:{c.cid}") if inline else (lambda c: c.data_uri()),
            generated=datetime.now(TZ).strftime("%Y-%m-%d %H:%M"),
        )
    )


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31]
    out, i = base, 2
    while out in used:
        suffix = f"_{i}"
        out, i = base[: 31 - len(suffix)] + suffix, i + 1
    used.add(out)
    return out


def write_xlsx(report: Report, path: Path) -> Path:
    """Every table of the report, one sheet each; numbers as numbers (rates as fractions in
    percent format, money in 万元 with two decimals), plus a 说明 sheet."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    bold = wb.add_format({"bold": True})
    title = wb.add_format({"bold": True, "font_size": 13})
    head = wb.add_format({"bold": True, "bg_color": "#eeeeee", "border": 1})
    fmts = {
        "count": wb.add_format({"num_format": "#,##0"}),
        "heat": wb.add_format({"num_format": "#,##0"}),
        "days": wb.add_format({"num_format": "0"}),
        "pct": wb.add_format({"num_format": "0.00%"}),
        "change": wb.add_format({"num_format": "+0.00%;-0.00%;0.00%"}),
        "pp": wb.add_format({"num_format": '+0.00"个百分点";-0.00"个百分点";0.00"个百分点"'}),
        "wan": wb.add_format({"num_format": "#,##0.00"}),
        "yuan": wb.add_format({"num_format": "#,##0.00"}),
    }
    used: set[str] = set()
    info = wb.add_worksheet(_sheet_name("说明", used))
    info.set_column(0, 0, 18)
    info.set_column(1, 1, 80)
    info.write(0, 0, report.subject, title)
    lines = [("报告", report.name), ("期间", report.period.text), ("期间代码", report.period.key)]
    lines += [("说明", n) for n in report.notes]
    for i, (k, v) in enumerate(lines, start=2):
        info.write(i, 0, k, bold)
        info.write(i, 1, v)
    for table in report.tables:
        ws = wb.add_worksheet(_sheet_name(table.sheet, used))
        ws.write(0, 0, table.title, title)
        for j, col in enumerate(table.columns):
            ws.write(
                1,
                j,
                col.header + ("（万元）" if col.kind == "wan" and "万元" not in col.header else ""),
                head,
            )
            ws.set_column(j, j, max(10, min(40, 2 * len(col.header) + 4)))
        for i, row in enumerate(table.rows, start=2):
            for j, (v, col) in enumerate(zip(row, table.columns, strict=True)):
                if v is None:
                    ws.write_string(i, j, DASH)
                elif col.kind == "wan":
                    ws.write_number(i, j, float(wan(v)), fmts["wan"])
                elif col.kind == "yuan":
                    ws.write_number(i, j, float(dec(v).quantize(CENT, ROUND_HALF_UP)), fmts["yuan"])
                elif col.kind in fmts:
                    ws.write_number(i, j, float(v), fmts[col.kind])
                elif col.kind == "met":
                    ws.write_string(i, j, fmt_met(v))
                elif isinstance(v, int | float | Decimal) and not isinstance(v, bool):
                    ws.write_number(i, j, float(v))
                else:
                    ws.write_string(i, j, str(v))
        if not table.rows:
            ws.write_string(2, 0, table.empty)
        if table.note:
            ws.write_string(len(table.rows) + 3, 0, table.note)
        ws.freeze_panes(2, 0)
    wb.close()
    return path


CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def chromium_path() -> str:
    explicit = os.environ.get("MINHU_CHROMIUM")
    for name in ([explicit] if explicit else []) + list(CHROMIUM_CANDIDATES):
        found = shutil.which(name) if name else None
        if found:
            return found
    raise RuntimeError(
        "no headless Chromium to print the PDF: install Debian's chromium (scripts/setup.sh)"
        " or set MINHU_CHROMIUM to its path"
    )


def write_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> Path:
    """Print the archived HTML (charts as data: URIs) to PDF with headless Chromium (its own
    process group, dying with this process; a unique temporary file: see reports/render.py)."""
    return render.print_pdf(chromium_path(), html_path, pdf_path, timeout)
