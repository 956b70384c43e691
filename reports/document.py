"""The document model: tables, KPIs, charts and sections, one model that renders to HTML
(reports/output.py) and to the XLSX workbook."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from minhu.periods import Period
from minhu.settings import get_settings

from .formatting import FORMATS


@dataclass
class Column:
    header: str
    kind: str = "text"  # a key of FORMATS


@dataclass
class Table:
    sheet: str  # XLSX sheet name (unique within a report, ≤ 31 chars)
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str = ""
    html_limit: int | None = None  # rows shown in the email; the workbook has all of them
    empty: str = "无"
    in_html: bool = True  # False: only in the workbook (e.g. a full ranking behind a short one)

    def cell(self, value: Any, col: Column) -> str:
        return FORMATS[col.kind](value)

    @property
    def heat_max(self) -> float:
        vals = [
            float(r[i])
            for r in self.rows
            for i, c in enumerate(self.columns)
            if c.kind == "heat" and r[i] is not None
        ]
        return max(vals, default=0.0)

    def heat_style(self, value: Any) -> str:
        top = self.heat_max
        if value is None or top <= 0:
            return ""
        alpha = 0.08 + 0.72 * float(value) / top
        return f"background-color: rgba(211, 47, 47, {alpha:.2f});" + (" color: #fff;" if alpha > 0.5 else "")


@dataclass
class Kpi:
    key: str  # indicator code (an id in the HTML)
    label: str
    value: str
    notes: list[str] = field(default_factory=list)
    status: str | None = None  # ok | bad | None
    unit: str = ""


@dataclass
class Chart:
    cid: str
    title: str
    png: bytes

    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode()


@dataclass
class Section:
    title: str
    kpis: list[Kpi] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass
class Report:
    kind: str  # daily | weekly | monthly
    name: str  # 日报 | 周报 | 月报
    period: Period
    sections: list[Section]
    notes: list[str] = field(default_factory=list)
    quality: dict = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return subject(self.name, self.period.text)

    @property
    def centre(self) -> str:
        """The centre's full name (MINHU_CENTRE_NAME), above the report's title."""
        return get_settings().centre_name

    @property
    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    @property
    def charts(self) -> list[Chart]:
        return [c for s in self.sections for c in s.charts]


def subject(name: str, period_text: str) -> str:
    """【<centre, short>】群众诉求<name> <period>: the centre of MINHU_DISTRICT (minhu.settings)."""
    return f"【{get_settings().centre_short}】群众诉求{name} {period_text}"
