"""The names the 日报, 周报 and 月报 share, gathered from the modules that hold them (for callers
that import them from one place). Each concern lives in a module of its own:

* periods — minhu/periods.py (the one period parser, shared with pipeline/);
* formatting — reports/formatting.py; the document model — reports/document.py;
* warehouse reads (marts only) — reports/marts.py; the quality gate — reports/gate.py;
* charts — reports/charts.py; HTML, XLSX, PDF — reports/output.py;
* delivery — reports/delivery.py; the one report runner — reports/runner.py.

``INDICATOR_NAMES`` and ``SANGONG`` are their seeds (dbt_project/seeds/indicator_catalog.csv,
sangong_classes.csv: the one home of the indicator list and of the 三公 codes), read when asked
for; the reports themselves read them from the marts (dim_indicator, dim_economic).
"""

from __future__ import annotations

import csv

from minhu.periods import Period, cn_date, parse_period, period_of
from minhu.settings import get_settings

from .charts import hbar_chart, trend_chart
from .delivery import ReportBlocked, archive_dir, deliver
from .document import Chart, Column, Kpi, Report, Section, Table, subject
from .formatting import (
    DASH,
    change,
    diff,
    fmt_change,
    fmt_count,
    fmt_met,
    fmt_pct,
    fmt_pp,
    fmt_wan,
    fmt_yuan,
    wan,
)
from .gate import gate_status, quality_section
from .marts import Figures, covered_dates, figures, is_covered
from .output import chromium_path, render_html, write_pdf, write_xlsx

__all__ = [
    "DASH",
    "Chart",
    "Column",
    "Figures",
    "Kpi",
    "Period",
    "Report",
    "ReportBlocked",
    "Section",
    "Table",
    "archive_dir",
    "change",
    "chromium_path",
    "cn_date",
    "covered_dates",
    "deliver",
    "diff",
    "figures",
    "fmt_change",
    "fmt_count",
    "fmt_met",
    "fmt_pct",
    "fmt_pp",
    "fmt_wan",
    "fmt_yuan",
    "gate_status",
    "hbar_chart",
    "is_covered",
    "parse_period",
    "period_of",
    "quality_section",
    "render_html",
    "subject",
    "trend_chart",
    "wan",
    "write_pdf",
    "write_xlsx",
]


def _seed(name: str) -> list[dict]:
    path = get_settings().dbt_project_dir / "seeds" / f"{name}.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def __getattr__(name: str):
    """INDICATOR_NAMES / SANGONG: from their seeds, when asked for."""
    if name == "INDICATOR_NAMES":
        return {r["indicator"]: r["indicator_name"] for r in _seed("indicator_catalog")}
    if name == "SANGONG":
        return {
            r["economic_code"]: r["sangong_item"]
            for r in sorted(_seed("sangong_classes"), key=lambda r: r["economic_code"])
        }
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
