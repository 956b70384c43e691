"""Report sections the 日报, 周报 and 月报 share, built from indicator rows and case listings."""

from __future__ import annotations

from datetime import date

from markupsafe import escape

from minhu.periods import Period

from .charts import trend_chart
from .document import Chart, Column, Kpi, Section, Table
from .formatting import DASH, change, diff, fmt_change, fmt_count, fmt_pct, fmt_pp
from .marts import (
    Figures,
    count_by,
    figures,
    headline_rates,
    indicator_names,
    is_covered,
    overdue_cases,
)
from .marts import case_indicators as _case_indicators


class Comparison:
    """A comparison period (环比 / 同比 / 上周同日) with its figures, or none when its case data
    is not completely loaded."""

    def __init__(self, label: str, period: Period, covered: set[date]) -> None:
        self.label = label
        self.period = period
        self.ok = is_covered(period, covered)
        self.figures = figures(period) if self.ok else None

    def count_change(self, current: Figures, scope: str = "all") -> float | None:
        if not self.ok:
            return None
        return change(current.count(scope), self.figures.count(scope) or 0)

    def rate_diff(self, current: Figures, indicator: str, scope: str = "all") -> float | None:
        if not self.ok:
            return None
        return diff(current.value(indicator, scope), self.figures.value(indicator, scope))

    def count(self, scope: str = "all") -> int | None:
        return self.figures.count(scope) if self.ok else None


def count_kpi(f: Figures, comparisons: list[Comparison], label: str = "受理量") -> Kpi:
    notes = []
    for c in comparisons:
        if c.ok:
            notes.append(
                f"{c.label} {fmt_change(c.count_change(f))}（{c.period.label} {fmt_count(c.count())} 件）"
            )
        else:
            notes.append(f"{c.label} {DASH}（{c.period.label}数据未完整入库）")
    return Kpi("case_count", label, fmt_count(f.count()), notes, unit="件")


def rate_kpi(f: Figures, indicator: str, comparisons: list[Comparison]) -> Kpi:
    name = indicator_names()[indicator]
    r = f.get(indicator)
    if r is None:
        return Kpi(indicator, name, DASH, ["本期无数据"])
    notes = [
        f"（{fmt_count(r['numerator'])} / {fmt_count(r['denominator'])}）"
        + (f" 目标 {fmt_pct(r['target'])}" if r["target"] is not None else "")
    ]
    notes += [f"{c.label} {fmt_pp(c.rate_diff(f, indicator))}" for c in comparisons]
    status = None if r["met"] is None else ("ok" if r["met"] else "bad")
    return Kpi(indicator, name, fmt_pct(r["value"]), notes, status)


def intake_section(p: Period, f: Figures, comparisons: list[Comparison], title: str = "受理情况") -> Section:
    """受理量 with comparisons, by channel (indicator scopes), case type and top 10 categories
    (listings)."""
    s = Section(title, kpis=[count_kpi(f, comparisons)])
    channels = sorted(
        f.scopes("case_count", "channel").items(), key=lambda kv: (-float(kv[1]["numerator"]), kv[0])
    )
    cmp = comparisons[0] if comparisons else None
    s.tables.append(
        Table(
            "按渠道",
            "按来源渠道",
            [
                Column("渠道"),
                Column("受理量（件）", "count"),
                Column(f"{cmp.label if cmp else '环比'}", "change"),
            ],
            [
                [ch, int(r["numerator"]), cmp.count_change(f, f"channel:{ch}") if cmp else None]
                for ch, r in channels
            ],
        )
    )
    s.tables.append(
        Table(
            "按诉求类型",
            "按诉求类型",
            [Column("诉求类型"), Column("受理量（件）", "count")],
            [list(kv) for kv in count_by("case_type", p)],
            note="清单口径：按受理时间统计的工单件数（含不予受理），非考核指标。",
        )
    )
    s.tables.append(
        Table(
            "诉求分类前十",
            "诉求分类前十",
            [Column("排名", "count"), Column("诉求分类"), Column("受理量（件）", "count")],
            [[i, k, n] for i, (k, n) in enumerate(count_by("category", p, limit=10), start=1)],
            note="清单口径：按受理时间统计的工单件数，非考核指标。",
        )
    )
    return s


def performance_section(f: Figures, comparisons: list[Comparison], title: str = "办理质效") -> Section:
    """The day's / week's rates as KPIs, and every case indicator in a table."""
    s = Section(title, kpis=[rate_kpi(f, ind, comparisons) for ind in headline_rates()])
    names = indicator_names()
    cols = [
        Column("指标"),
        Column("本期", "pct"),
        Column("分子", "count"),
        Column("分母", "count"),
        Column("目标", "pct"),
        Column("达标", "met"),
    ] + [Column(f"{c.label}（个百分点）", "pp") for c in comparisons]
    rows = []
    for ind in _case_indicators()[1:]:
        r = f.get(ind)
        if r is None:
            rows.append([names[ind], None, None, None, None, None] + [None] * len(comparisons))
            continue
        rows.append(
            [names[ind], r["value"], r["numerator"], r["denominator"], r["target"], r["met"]]
            + [c.rate_diff(f, ind) for c in comparisons]
        )
    s.tables.append(Table("考核指标", "考核指标一览", cols, rows, note="比率为 0/0 时显示“—”。"))
    return s


def overdue_section(
    p: Period, title: str = "新增超期工单", html_limit: int = 30, where: str = "true"
) -> Section:
    rows = overdue_cases(p, where)
    s = Section(title)
    open_n = sum(1 for r in rows if r["closed_at"] is None)
    s.paragraphs.append(
        f"办理时限在{'当日' if p.kind == 'daily' else '本期'}、到期未办结的工单 {len(rows)} 件，"
        f"其中至今仍未办结 {open_n} 件。"
    )
    s.tables.append(
        Table(
            "新增超期工单",
            "新增超期工单清单",
            [
                Column("工单编号"),
                Column("诉求分类"),
                Column("承办单位"),
                Column("超期天数", "days"),
                Column("状态"),
            ],
            [
                [
                    r["case_id"],
                    r["category"],
                    r["handling_unit"],
                    r["days"],
                    "已超期办结" if r["closed_at"] is not None else "未办结",
                ]
                for r in rows
            ],
            note="超期天数：自办理时限起按自然日计（不足一日计一日），已办结的计至办结时间，"
            "未办结的计至最新入库数据日的24时。",
            html_limit=html_limit,
            empty="无新增超期工单。",
        )
    )
    return s


def lowest_table(
    f: Figures, kind: str, label: str, sheet: str, n: int = 5, indicator: str = "ontime_close_rate"
) -> Table:
    """The n scopes of a kind with the lowest rate (ties: more cases first)."""
    items = [(k, r) for k, r in f.scopes(indicator, kind).items() if r["value"] is not None]
    items.sort(key=lambda kv: (float(kv[1]["value"]), -float(kv[1]["denominator"]), kv[0]))
    name = indicator_names()[indicator]
    return Table(
        sheet,
        f"{name}最低的{label}",
        [
            Column(label),
            Column(name, "pct"),
            Column("按时办结（件）", "count"),
            Column("应办结（件）", "count"),
        ],
        [[k, r["value"], r["numerator"], r["denominator"]] for k, r in items[:n]],
    )


def trend(
    periods: list[tuple[str, str, Figures]], title: str, cid: str, first_column: str, sheet: str, caption: str
) -> tuple[Chart, Table]:
    """受理量 and the headline rates period by period: `periods` are (key, tick label, figures)."""
    rates, names = headline_rates(), indicator_names()
    labels, counts, lines = [], [], {names[i]: [] for i in rates}
    rows = []
    for key, tick, f in periods:
        labels.append(tick)
        counts.append(f.count())
        for i in rates:
            lines[names[i]].append(f.value(i))
        rows.append([key, f.count()] + [f.value(i) for i in rates])
    chart = trend_chart(cid, title, labels, counts, lines)
    table = Table(
        sheet,
        caption,
        [Column(first_column), Column("受理量（件）", "count")] + [Column(names[i], "pct") for i in rates],
        rows,
    )
    return chart, table


def daily_trend(dates: list[date], title: str, cid: str) -> tuple[Chart, Table]:
    """受理量 and the three rates day by day (day-grain indicator rows)."""
    days = [(d.isoformat(), f"{d.month}/{d.day}", Figures("day", d.isoformat())) for d in dates]
    return trend(days, title, cid, "日期", "逐日趋势", title)


def count_columns(first: str, count_header: str, comparisons: list[Comparison]) -> list[Column]:
    """[first, 受理量, one 'change' column per comparison]: a count table's columns."""
    return [Column(first), Column(count_header, "count")] + [Column(c.label, "change") for c in comparisons]


def esc(text: str) -> str:
    return str(escape(text))
