"""What the 日报, 周报 and 月报 share: periods, warehouse reads, formatting, tables, charts,
the XLSX workbook, the PDF, the quality-gate check and delivery (archive + send once).

Where the numbers come from
---------------------------
* Every indicator (受理量, every rate, every budget figure) is a row of
  ``marts.fct_indicators``; reports read ``numerator``, ``denominator``, ``value``, ``target`` and
  ``met`` and never compute a rate of their own.
* Listings are plain ``GROUP BY`` counts or case lists on ``marts.fct_cases`` (top categories,
  case types, the street × category heat table, newly overdue cases). They carry case id,
  category, street, handling unit, status and dates only: never personal data.
* Comparisons (环比, 同比, vs the same weekday last week) compare two indicator rows: the change
  of a count in percent, the change of a rate in percentage points (个百分点). A comparison
  period whose case data is not completely loaded (see ``covered_dates``) shows "—".
* The data-quality status reads ``raw.landings`` (rows loaded / quarantined) and
  ``$MINHU_HOME/reports/quality/last_gate.json`` (the last gate's outcomes).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from minhu import warehouse
from minhu.calendar import TZ
from minhu.settings import get_settings

from . import mail, render

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"

INDICATOR_NAMES = {
    "case_count": "受理量",
    "dispatch_timely_rate": "及时转办率",
    "ontime_close_rate": "按时办结率",
    "urge_rate": "催办率",
    "satisfaction_rate": "群众满意率",
    "bizenv_ontime_close_rate": "营商环境办件按时办结率",
    "key_supervision_done_rate": "重点专项督办完成率",
    "close_rate": "办结率",
    "visit_rate": "回访率",
    "budget_execution_rate": "预算执行率",
    "time_progress": "序时进度",
    "execution_gap": "执行进度差",
    "cost_per_case": "每件诉求成本",
}
# 三公经费: the economic classes that make it up
SANGONG = {
    "30212": "因公出国(境)费",
    "30217": "公务接待费",
    "30231": "公务用车运行维护费",
    "31013": "公务用车购置",
}
NOT_RECEIVED = "不予受理"


class ReportBlocked(ValueError):
    """A report was asked to be sent but must not be (failed gate, data not loaded)."""


# --------------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str  # daily | weekly | monthly
    key: str  # 2024-03-01 | 2024-W10 | 2024-03
    start: date
    end: date  # exclusive

    @property
    def grain(self) -> str:
        return {"daily": "day", "weekly": "week", "monthly": "month"}[self.kind]

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def shifted(self, n: int) -> Period:
        """The period n grains later (n < 0: earlier)."""
        if self.kind == "daily":
            return period_of("daily", self.start + timedelta(days=n))
        if self.kind == "weekly":
            return period_of("weekly", self.start + timedelta(days=7 * n))
        months = self.start.year * 12 + self.start.month - 1 + n
        return period_of("monthly", date(months // 12, months % 12 + 1, 1))

    def year_ago(self) -> Period:
        """同比: the same day / ISO week / month a year earlier."""
        if self.kind == "daily":
            d = self.start
            return period_of(
                "daily",
                d.replace(year=d.year - 1, day=28)
                if (d.month, d.day) == (2, 29)
                else d.replace(year=d.year - 1),
            )
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            weeks = date(year - 1, 12, 28).isocalendar()[1]
            return period_of("weekly", date.fromisocalendar(year - 1, min(week, weeks), 1))
        return period_of("monthly", self.start.replace(year=self.start.year - 1))

    @property
    def text(self) -> str:
        """The period as the subject line writes it."""
        if self.kind == "daily":
            return cn_date(self.start)
        if self.kind == "monthly":
            return f"{self.start.year}年{self.start.month}月"
        year, week, _ = self.start.isocalendar()
        last = self.last
        if self.start.year == last.year == year:
            span = f"{self.start.month}月{self.start.day}日—{last.month}月{last.day}日"
        else:
            span = f"{cn_date(self.start)}—{cn_date(last)}"
        return f"{year}年第{week}周（{span}）"

    @property
    def label(self) -> str:
        """The period with its year, for comparison notes."""
        if self.kind == "daily":
            return cn_date(self.start)
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}年第{week}周"
        return f"{self.start.year}年{self.start.month}月"

    @property
    def short(self) -> str:
        """A compact label for charts and comparison columns."""
        if self.kind == "daily":
            return f"{self.start.month}月{self.start.day}日"
        if self.kind == "weekly":
            return f"第{self.start.isocalendar()[1]}周"
        return f"{self.start.year % 100:02d}年{self.start.month}月"


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def period_of(kind: str, d: date) -> Period:
    """The daily / weekly / monthly period containing date d."""
    if kind == "daily":
        return Period(kind, d.isoformat(), d, d + timedelta(days=1))
    if kind == "weekly":
        start = d - timedelta(days=d.weekday())
        year, week, _ = start.isocalendar()
        return Period(kind, f"{year}-W{week:02d}", start, start + timedelta(days=7))
    if kind == "monthly":
        start = d.replace(day=1)
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        return Period(kind, f"{start.year}-{start.month:02d}", start, end)
    raise ValueError(f"unknown report kind {kind!r}")


_PATTERNS = {
    "daily": (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "2024-03-01"),
    "weekly": (re.compile(r"^(\d{4})-W(\d{2})$"), "2024-W10"),
    "monthly": (re.compile(r"^(\d{4})-(\d{2})$"), "2024-03"),
}


def parse_period(kind: str, key: str | date) -> Period:
    """'2024-03-01' (daily), '2024-W10' (weekly, ISO), '2024-03' (monthly)."""
    if isinstance(key, date):
        return period_of(kind, key)
    if kind not in _PATTERNS:
        raise ValueError(f"unknown report kind {kind!r}")
    pattern, example = _PATTERNS[kind]
    m = pattern.match(str(key).strip())
    try:
        if not m:
            raise ValueError
        a, b = int(m.group(1)), int(m.group(2))
        if kind == "daily":
            d = date(a, b, int(m.group(3)))
        elif kind == "weekly":
            d = date.fromisocalendar(a, b, 1)
        else:
            d = date(a, b, 1)
    except ValueError:
        raise ValueError(f"period {key!r} is not a {kind} period (e.g. {example})") from None
    return period_of(kind, d)


# --------------------------------------------------------------------------------------------
# Formatting (Chinese government reporting conventions)
# --------------------------------------------------------------------------------------------

DASH = "—"
CENT = Decimal("0.01")


def _dec(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v))


def wan(yuan: Any) -> Decimal | None:
    """Yuan → 万元, two decimals (Decimal, half up)."""
    return None if yuan is None else (_dec(yuan) / 10000).quantize(CENT, ROUND_HALF_UP)


def fmt_count(v: Any) -> str:
    return DASH if v is None else f"{int(v):,}"


def fmt_pct(v: Any) -> str:
    """A rate (fraction) as a percentage with two decimals."""
    if v is None:
        return DASH
    return f"{(_dec(v) * 100).quantize(CENT, ROUND_HALF_UP)}%"


def fmt_pp(v: Any) -> str:
    """A difference of rates in 个百分点, signed."""
    if v is None:
        return DASH
    x = (_dec(v) * 100).quantize(CENT, ROUND_HALF_UP)
    return f"{'+' if x > 0 else ''}{x}个百分点"


def fmt_change(v: Any) -> str:
    """A relative change of a count, signed percentage."""
    if v is None:
        return DASH
    x = (_dec(v) * 100).quantize(CENT, ROUND_HALF_UP)
    return f"{'+' if x > 0 else ''}{x}%"


def fmt_wan(yuan: Any) -> str:
    w = wan(yuan)
    return DASH if w is None else f"{w:,.2f}"


def fmt_yuan(yuan: Any) -> str:
    return DASH if yuan is None else f"{_dec(yuan).quantize(CENT, ROUND_HALF_UP):,.2f}"


def fmt_met(v: bool | None) -> str:
    return DASH if v is None else ("达标" if v else "未达标")


FORMATS = {
    "text": lambda v: DASH if v is None or v == "" else str(v),
    "count": fmt_count,
    "heat": fmt_count,
    "days": fmt_count,
    "pct": fmt_pct,
    "pp": fmt_pp,
    "change": fmt_change,
    "wan": fmt_wan,
    "yuan": fmt_yuan,
    "met": fmt_met,
    "flag": lambda v: "" if v is None else str(v),
}


def change(current: Any, previous: Any) -> float | None:
    """Relative change of a count (环比/同比 of 受理量); None when not comparable."""
    if current is None or previous is None or previous == 0:
        return None
    return float(current) / float(previous) - 1


def diff(current: Any, previous: Any) -> float | None:
    """Difference of two rates (in fractions; shown as 个百分点)."""
    if current is None or previous is None:
        return None
    return float(current) - float(previous)


# --------------------------------------------------------------------------------------------
# Tables, KPIs, charts, sections: one model that renders to HTML and to the XLSX workbook
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Warehouse reads
# --------------------------------------------------------------------------------------------


class Figures:
    """The fct_indicators rows of one grain and period, every scope, read in one query."""

    def __init__(self, grain: str, period: str) -> None:
        self.grain, self.period = grain, period
        rows = warehouse.query(
            "select indicator, scope, numerator, denominator, value, target, met, as_of"
            " from marts.fct_indicators where grain = ? and period = ?",
            [grain, period],
        )
        self.rows = {(r["indicator"], r["scope"]): r for r in rows}

    def get(self, indicator: str, scope: str = "all") -> dict | None:
        return self.rows.get((indicator, scope))

    def value(self, indicator: str, scope: str = "all") -> float | None:
        r = self.get(indicator, scope)
        return None if r is None or r["value"] is None else float(r["value"])

    def numerator(self, indicator: str, scope: str = "all") -> Decimal | None:
        r = self.get(indicator, scope)
        return None if r is None else r["numerator"]

    def denominator(self, indicator: str, scope: str = "all") -> Decimal | None:
        r = self.get(indicator, scope)
        return None if r is None else r["denominator"]

    def count(self, scope: str = "all") -> int | None:
        """受理量 of a scope (0 when the period has no case of the scope but has data)."""
        n = self.numerator("case_count", scope)
        return None if n is None else int(n)

    def scopes(self, indicator: str, kind: str) -> dict[str, dict]:
        """{value: row} of the scopes '<kind>:<value>' of an indicator."""
        prefix = kind + ":"
        return {
            s[len(prefix) :]: r for (i, s), r in self.rows.items() if i == indicator and s.startswith(prefix)
        }

    @property
    def as_of(self) -> datetime | None:
        r = self.get("case_count")
        return r["as_of"] if r else None


def figures(p: Period) -> Figures:
    return Figures(p.grain, p.key)


def project_names() -> dict[str, str]:
    """Project names for labels, from marts.dim_project when the warehouse has it (codes otherwise)."""
    try:
        rows = warehouse.query("select project_code, project_name from marts.dim_project")
    except Exception as exc:  # noqa: BLE001 - a label lookup: without it the code is shown
        log.info("no project names (marts.dim_project): %s", exc)
        return {}
    return {r["project_code"]: r["project_name"] for r in rows if r["project_code"] and r["project_name"]}


def covered_dates() -> set[date]:
    """Dates whose case data is completely loaded: a nightly landing of the case feed for the
    date, or a date inside the span of received dates of an imported case archive."""
    rows = warehouse.query(
        "select distinct business_date as d from raw.landings"
        " where source = 'cases' and kind = 'api' and business_date is not null"
    )
    out = {r["d"] for r in rows}
    spans = warehouse.query(
        "select min(cast(timezone('Asia/Shanghai', try_cast(received_at as timestamptz)) as date)) as lo,"
        " max(cast(timezone('Asia/Shanghai', try_cast(received_at as timestamptz)) as date)) as hi"
        " from raw.cases where _batch in (select batch from raw.landings where source = 'cases' and kind = 'file')"
    )
    lo, hi = (spans[0]["lo"], spans[0]["hi"]) if spans else (None, None)
    if lo and hi:
        out |= {lo + timedelta(days=i) for i in range((hi - lo).days + 1)}
    return out


def is_covered(p: Period, covered: set[date]) -> bool:
    return all(d in covered for d in p.dates)


def _range(p: Period) -> list:
    return [p.start, p.end]


def count_by(column: str, p: Period, limit: int | None = None) -> list[tuple[str, int]]:
    """A listing: cases received in P by a column of fct_cases (不予受理 included, like 受理量)."""
    if column not in ("case_type", "category", "channel", "street", "handling_unit"):
        raise ValueError(column)
    rows = warehouse.query(
        f"select coalesce({column}, '（未填）') as k, count(*) as n from marts.fct_cases"
        " where received_date >= ? and received_date < ? group by all order by n desc, k"
        + (f" limit {int(limit)}" if limit else ""),
        _range(p),
    )
    return [(r["k"], int(r["n"])) for r in rows]


def street_by_category(p: Period) -> list[dict]:
    """A listing: cases received in P by street and first-level category."""
    return warehouse.query(
        "select coalesce(street, '（未填）') as street, coalesce(split_part(category, '/', 1), '（未填）') as cat,"
        " count(*) as n from marts.fct_cases where received_date >= ? and received_date < ? group by all",
        _range(p),
    )


def overdue_cases(p: Period, where: str = "true") -> list[dict]:
    """A listing: cases due in P and not closed by their due time (newly overdue).

    What is known: the data is complete to the end of the local day of the newest ``updated_at``
    loaded (``known``); a case counts when its due time is before min(end of P, known). Days
    overdue (calendar days, a started day counts as one) run from the due time to the closing
    time, or for cases still open to ``known``.
    """
    return warehouse.query(
        "with known as (select timezone('Asia/Shanghai',"
        "   cast(cast(timezone('Asia/Shanghai', max(updated_at)) as date) + 1 as timestamp)) as t"
        "  from marts.fct_cases),"
        " c as (select * from marts.fct_cases where " + where + ")"
        " select case_id, category, handling_unit, street, status, due_at, closed_at,"
        "  cast(ceil(epoch(coalesce(closed_at, (select t from known)) - due_at) / 86400.0) as integer) as days"
        " from c where status != ? and due_at is not null"
        "  and due_at >= timezone('Asia/Shanghai', cast(? as timestamp))"
        "  and due_at < least(timezone('Asia/Shanghai', cast(? as timestamp)), (select t from known))"
        "  and (closed_at is null or closed_at > due_at)"
        " order by days desc, due_at, case_id",
        [NOT_RECEIVED, p.start, p.end],
    )


def landings(p: Period) -> dict:
    rows = warehouse.query(
        "select coalesce(sum(loaded_rows), 0) as loaded, coalesce(sum(quarantined), 0) as quarantined,"
        " count(*) as batches from raw.landings where business_date >= ? and business_date < ?",
        _range(p),
    )
    return rows[0]


# --------------------------------------------------------------------------------------------
# The quality gate
# --------------------------------------------------------------------------------------------


def gate_status() -> dict:
    """The last quality gate's result (`last_gate.json`), summarised; missing → not passed."""
    s = get_settings()
    folder = s.reports_dir / "quality"
    path = folder / "last_gate.json"
    docs = folder / "index.html"
    out: dict[str, Any] = {
        "passed": False,
        "present": path.exists(),
        "docs": docs.as_uri() if docs.exists() else None,
    }
    if not path.exists():
        out["summary"] = "未找到质量门禁结果（last_gate.json）"
        return out
    try:
        g = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        out["summary"] = f"质量门禁结果无法读取：{path}: {exc}"
        return out
    outcomes = g.get("outcomes") or []
    errors = [o for o in outcomes if not o.get("success") and o.get("severity") == "error"]
    warnings = [o for o in outcomes if not o.get("success") and o.get("severity") != "error"]
    out.update(
        passed=bool(g.get("passed")) and not errors,
        checked_at=g.get("checked_at"),
        total=len(outcomes),
        ok=sum(1 for o in outcomes if o.get("success")),
        errors=len(errors),
        warnings=len(warnings),
        failed=[
            f"{o.get('suite')}.{o.get('check')}: {o.get('expectation')}"
            + (f"（{o['listing']}）" if o.get("listing") else "")  # e.g. the unnamed codes, 科目 2089999
            for o in errors + warnings
        ],
    )
    out["summary"] = (
        f"{out['ok']}/{out['total']} 项校验通过，错误 {out['errors']} 项，警告 {out['warnings']} 项"
    )
    return out


def quality_section(p: Period, gate: dict) -> Section:
    lq = landings(p)
    when = "当日" if p.kind == "daily" else "本期"
    verdict = "通过" if gate["passed"] else "未通过"
    s = Section("数据质量")
    s.kpis = [
        Kpi("rows_loaded", f"{when}入库记录", fmt_count(lq["loaded"]), unit="条"),
        Kpi(
            "rows_quarantined",
            f"{when}隔离记录",
            fmt_count(lq["quarantined"]),
            unit="条",
            status="bad" if lq["quarantined"] else None,
        ),
        Kpi("gate", "质量门禁", verdict, [gate["summary"]], status="ok" if gate["passed"] else "bad"),
    ]
    if gate.get("failed"):
        s.paragraphs.append("未通过的校验：" + "；".join(gate["failed"]))
    if gate.get("docs"):
        s.paragraphs.append(f'<a href="{gate["docs"]}">数据质量文档（Data Docs）</a>')
    s.tables.append(
        Table(
            "数据质量",
            "数据质量",
            [Column("项目"), Column("数值", "text")],
            [
                [f"{when}入库记录（条）", int(lq["loaded"])],
                [f"{when}隔离记录（条）", int(lq["quarantined"])],
                ["质量门禁", verdict],
                ["校验通过（项）", gate.get("ok")],
                ["校验总数（项）", gate.get("total")],
                ["门禁时间", (gate.get("checked_at") or "")[:16].replace("T", " ") or None],
            ],
        )
    )
    return s


# --------------------------------------------------------------------------------------------
# Charts (matplotlib, Noto Sans CJK SC)
# --------------------------------------------------------------------------------------------

CJK_FAMILY = "Noto Sans CJK SC"


@lru_cache(maxsize=1)
def cjk_font() -> str:
    """The CJK font for charts; a clear error when it is not installed."""
    from matplotlib import font_manager as fm

    try:
        return fm.findfont(fm.FontProperties(family=CJK_FAMILY), fallback_to_default=False)
    except ValueError:
        for path in sorted(Path("/usr/share/fonts").rglob("NotoSansCJK*.tt[cf]")):
            fm.fontManager.addfont(str(path))
        try:
            return fm.findfont(fm.FontProperties(family=CJK_FAMILY), fallback_to_default=False)
        except ValueError:
            raise RuntimeError(
                f"font {CJK_FAMILY!r} not found: install Debian's fonts-noto-cjk (scripts/setup.sh)"
            ) from None


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cjk_font()
    plt.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [CJK_FAMILY, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "font.size": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def trend_chart(
    cid: str, title: str, labels: list[str], counts: list[int | None], lines: dict[str, list]
) -> Chart:
    """Bars of 受理量 with rates (fractions) as lines on a percentage axis."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    xs = list(range(len(labels)))
    bars = ax.bar(xs, [c or 0 for c in counts], color="#90caf9", label="受理量（件）")
    for b, c in zip(bars, counts, strict=True):
        if c is not None:
            ax.annotate(
                f"{c:,}",
                (b.get_x() + b.get_width() / 2, b.get_height()),
                ha="center",
                va="bottom",
                fontsize=7,
            )
    ax.set_ylabel("受理量（件）")
    ax.set_xticks(
        xs, labels, rotation=45 if len(labels) > 8 else 0, ha="right" if len(labels) > 8 else "center"
    )
    handles = [bars]
    if lines:
        ax2 = ax.twinx()
        ax2.spines["top"].set_visible(False)
        for (name, values), color in zip(lines.items(), ("#d32f2f", "#2e7d32", "#6a1b9a"), strict=False):
            pts = [(x, v * 100) for x, v in zip(xs, values, strict=True) if v is not None]
            if pts:
                (h,) = ax2.plot(
                    [p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, color=color, label=name
                )
                handles.append(h)
        ax2.set_ylabel("比率（%）")
        ax2.set_ylim(0, 105)
    top = max([c for c in counts if c is not None], default=0)
    ax.set_ylim(0, max(1, top) * 1.8)  # bars in the lower half, rates (60–100%) above them
    ax.set_title(title)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12 if len(labels) <= 8 else -0.22),
        fontsize=8,
        frameon=False,
        ncol=len(handles),
    )
    return Chart(cid, title, _png(fig))


def hbar_chart(
    cid: str,
    title: str,
    items: list[tuple[str, float]],
    xlabel: str,
    percent: bool = False,
    marker: float | None = None,
    marker_label: str = "",
) -> Chart:
    """Horizontal bars, largest on top; `marker` draws a vertical reference line (e.g. 序时进度)."""
    plt = _plt()
    items = list(reversed(items))
    fig, ax = plt.subplots(figsize=(6.4, max(1.6, 0.32 * len(items) + 0.9)))
    ys = list(range(len(items)))
    vals = [v * 100 if percent else v for _, v in items]
    bars = ax.barh(ys, vals, color="#64b5f6")
    ax.set_yticks(ys, [k for k, _ in items], fontsize=8)
    for b, v in zip(bars, vals, strict=True):
        ax.annotate(
            f"{v:.2f}%" if percent else f"{v:,.0f}",
            (b.get_width(), b.get_y() + b.get_height() / 2),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=7,
        )
    if marker is not None:
        m = marker * 100 if percent else marker
        label = f"{marker_label} {m:.2f}%" if percent else marker_label
        ax.axvline(m, color="#d32f2f", linestyle="--", linewidth=1, label=label)
        ax.set_xlim(0, max([m, *vals, 1]) * 1.2)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=8, frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return Chart(cid, title, _png(fig))


# --------------------------------------------------------------------------------------------
# HTML, XLSX, PDF
# --------------------------------------------------------------------------------------------


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
                    ws.write_number(i, j, float(_dec(v).quantize(CENT, ROUND_HALF_UP)), fmts["yuan"])
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


# --------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------


def archive_dir(kind: str, p: Period) -> Path:
    return get_settings().reports_dir / kind / p.key


def write_files(report: Report, template: str) -> dict[str, Path]:
    """The archive: HTML (self-contained), XLSX, PDF and the chart PNGs."""
    folder = archive_dir(report.kind, report.period)
    folder.mkdir(parents=True, exist_ok=True)
    render.sweep(folder)
    stem = f"{report.kind}-{report.period.key}"
    # each file through a temporary file of its own: concurrent renders never share one
    html_path = render.write_text(folder / f"{stem}.html", render_html(report, template, inline=False))
    xlsx_path = folder / f"{stem}.xlsx"
    with render.atomic_path(xlsx_path) as tmp:
        write_xlsx(report, tmp)
    pdf_path = write_pdf(html_path, folder / f"{stem}.pdf")
    files = {"html": html_path, "xlsx": xlsx_path, "pdf": pdf_path}
    for chart in report.charts:
        files[chart.cid] = render.write_bytes(folder / f"{chart.cid.split('@')[0]}.png", chart.png)
    return files


def alert_engineers(report: Report, reason: str) -> None:
    to = mail.recipients("alerts", "data_engineers")
    html = (
        f"<h3>minhu：{report.name}未发送</h3><p>{report.subject}</p><p>原因：{reason}</p>"
        "<p>请检查夜间任务与质量门禁（minhu check），修复后重新发送："
        f"<code>minhu report {report.kind} --period "
        f"{report.period.key} --send</code></p>"
    )
    try:
        mail.send(mail.build_message(f"【minhu】{report.name}未发送：{report.period.text}", html, to))
    except OSError as exc:
        log.error("could not send the alert about the %s report %s: %s", report.kind, report.period.key, exc)


def check_sendable(report: Report, gate: dict, covered: set[date]) -> None:
    """Refuse to send from data that failed the gate or does not cover the whole period."""
    reason = None
    if not gate["passed"]:
        reason = f"质量门禁未通过（{gate['summary']}），不得以未通过校验的数据发送报告"
    else:
        missing = [d for d in report.period.dates if d not in covered]
        if missing:
            reason = (
                "以下日期的诉求数据尚未入库："
                + "、".join(d.isoformat() for d in missing[:7])
                + (" 等" if len(missing) > 7 else "")
            )
    if reason:
        alert_engineers(report, reason)
        raise ReportBlocked(f"{report.kind} report {report.period.key} not sent: {reason}")


def deliver(report: Report, template: str, send: bool, resend: bool, gate: dict, covered: set[date]) -> dict:
    """Archive the report; with send, email it once per period and recipient list."""
    to = mail.recipients("reports", report.kind)
    archive = archive_dir(report.kind, report.period)
    already = mail.already_sent(report.kind, report.period.key, archive, to)
    sending = send and (resend or not already)
    if sending:
        check_sendable(report, gate, covered)  # before anything is written: a blocked run changes nothing
    files = write_files(report, template)
    sent = False
    if sending:
        msg = mail.build_message(
            report.subject,
            render_html(report, template, inline=True),
            to,
            [files["xlsx"], files["pdf"]],
            inline={c.cid: c.png for c in report.charts},
        )
        outcome = mail.deliver_once(msg, report.kind, report.period.key, archive, to, resend=resend)
        sent, already = outcome.sent, already or outcome.already_sent
    return {
        "report": report.kind,
        "period": report.period.key,
        "subject": report.subject,
        "archive": str(archive),
        "files": [str(p) for p in files.values()],
        "html": str(files["html"]),
        "xlsx": str(files["xlsx"]),
        "pdf": str(files["pdf"]),
        "charts": [c.cid for c in report.charts],
        "sent": sent,
        "already_sent": already and not sent,
        "to": to,
        "gate_passed": gate["passed"],
    }
