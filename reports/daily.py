"""日报: one business date's figures, from the published warehouse's indicator tables.

Sections: 受理情况 (受理量 with 环比 vs the day before and vs the same weekday last week; by
channel, case type and the top 10 categories), 办理质效 (the day's 及时转办率, 按时办结率,
满意率 and every case indicator), 新增超期工单 (due that day, not closed by the end of it), 数据质量
(rows loaded and quarantined that night, the quality gate's checks). See reports/marts.py for
where each number comes from.
"""

from __future__ import annotations

from datetime import date

from minhu.periods import Period

from .document import Section
from .gate import quality_section
from .marts import figures
from .runner import runner
from .sections import Comparison, intake_section, overdue_section, performance_section

TEMPLATE = "daily.html"


def build(p: Period, covered: set[date], gate: dict) -> list[Section]:
    f = figures(p)
    comparisons = [
        Comparison("环比", p.shifted(-1), covered),
        Comparison("较上周同日", p.shifted(-7), covered),
    ]
    figures_sections = [intake_section(p, f, comparisons), performance_section(f, comparisons)]
    return [*figures_sections, overdue_section(p), quality_section(p, gate)]


NOTES = [
    "受理量按受理时间计；及时转办率按受理时间、按时办结率按办理时限、满意率按回访时间归入当日。",
    "环比为较前一日，比率的变化以个百分点表示；对比日数据未完整入库时显示“—”。",
]
run = runner("daily", build, NOTES, TEMPLATE)
