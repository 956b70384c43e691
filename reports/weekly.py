"""周报: one ISO week (Monday–Sunday), from the published warehouse's indicator tables.

Everything in the 日报 at week grain (环比 vs the previous week, 同比 vs the same ISO week a year
earlier), a 7-day trend chart (day-grain indicator rows), hotspot categories (largest growth of
the case count over the previous week: a listing), and the streets and handling units with the
lowest 按时办结率 (week-grain indicator rows per scope).
"""

from __future__ import annotations

from datetime import date

from minhu.periods import Period

from .document import Column, Section, Table
from .formatting import change
from .gate import quality_section
from .marts import count_by, figures, is_covered
from .runner import runner
from .sections import (
    Comparison,
    daily_trend,
    intake_section,
    lowest_table,
    overdue_section,
    performance_section,
)

TEMPLATE = "weekly.html"


def hotspot_table(p: Period, covered: set[date], n: int = 10) -> Table:
    prev = p.shifted(-1)
    if not is_covered(prev, covered):
        return Table(
            "热点分类",
            "热点诉求分类（周环比增量）",
            [Column("诉求分类")],
            [],
            empty=f"上周（{prev.text}）数据未完整入库，无法计算增量。",
        )
    now = dict(count_by("category", p))
    before = dict(count_by("category", prev))
    rows = [
        [k, now.get(k, 0), before.get(k, 0), now.get(k, 0) - before.get(k, 0)] for k in set(now) | set(before)
    ]
    rows = [r for r in rows if r[3] > 0]
    rows.sort(key=lambda r: (-r[3], -r[1], r[0]))
    return Table(
        "热点分类",
        "热点诉求分类（周环比增量）",
        [
            Column("诉求分类"),
            Column("本周（件）", "count"),
            Column("上周（件）", "count"),
            Column("增量（件）", "count"),
            Column("环比", "change"),
        ],
        [r + [change(r[1], r[2])] for r in rows[:n]],
        note="清单口径：按受理时间统计的工单件数，按较上周增加的件数排序。",
        empty="本周无较上周增加的诉求分类。",
    )


def build(p: Period, covered: set[date], gate: dict) -> list[Section]:
    f = figures(p)
    comparisons = [Comparison("环比", p.shifted(-1), covered), Comparison("同比", p.year_ago(), covered)]
    chart, trend = daily_trend(p.dates, "近7日受理量与办理质效", "trend7@minhu")
    intake = intake_section(p, f, comparisons, title="本周受理情况")
    intake.charts.append(chart)
    intake.tables.insert(0, trend)
    hot = Section("热点诉求", tables=[hotspot_table(p, covered)])
    low = Section(
        "按时办结率偏低的街道和承办单位",
        tables=[
            lowest_table(f, "street", "街道", "按时办结率最低街道"),
            lowest_table(f, "handling_unit", "承办单位", "按时办结率最低单位"),
        ],
        paragraphs=["按本周按时办结率由低到高列出（并列时应办结件数多者在前）；无应办结件的不参与排序。"],
    )
    return [
        intake,
        performance_section(f, comparisons, title="本周办理质效"),
        hot,
        low,
        overdue_section(p, title="本周新增超期工单", html_limit=20),
        quality_section(p, gate),
    ]


NOTES = [
    "周为 ISO 周（周一至周日）。环比为较上周，同比为较上年同周；比率的变化以个百分点表示；"
    "对比期数据未完整入库时显示“—”。",
]
run = runner("weekly", build, NOTES, TEMPLATE)
