"""月报: one calendar month, from the published warehouse's indicator tables.

Sections: 总体情况 (受理量 and the key rates with 环比 and 同比); 考核指标计分卡 (every case
indicator against the year's target: met / not met, 环比 and 同比 in 个百分点); 月度趋势 (the
last 13 months, month-grain rows; months whose case data is not completely loaded are left out);
渠道结构 (channel scopes); 街道×分类 heat table (a listing on fct_cases); 红黑榜 of streets and
handling units; 营商环境 and 重点督办; 预算执行 by project against 序时进度, 三公经费 and the
cost per case (budget indicator rows: scopes all / project:<code> / economic:<code>; a figure not
in the warehouse shows "—"); 数据质量.

红黑榜: scopes are ranked by 按时办结率 (high first), then 群众满意率, then 受理量 (more cases
first), then name; scopes without a 按时办结率 (no case due) are not ranked. The top five are the
红榜, the bottom five the 黑榜 (flagged).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from minhu.periods import Period

from .charts import hbar_chart
from .document import Column, Kpi, Section, Table
from .formatting import fmt_pct, fmt_pp, fmt_wan, fmt_yuan
from .gate import quality_section
from .marts import (
    Figures,
    figures,
    headline_rates,
    indicator_names,
    is_covered,
    project_names,
    sangong_items,
    scorecard_indicators,
    street_by_category,
)
from .runner import runner
from .sections import Comparison, count_columns, count_kpi, overdue_section, rate_kpi, trend

TEMPLATE = "monthly.html"
HEAT_COLUMNS = 6  # first-level categories shown in the email; the workbook has them all


def scorecard(f: Figures, comparisons: list[Comparison]) -> Section:
    rows, names = [], indicator_names()
    for ind in scorecard_indicators():
        r = f.get(ind)
        kind_count = ind == "case_count"
        value = None if r is None else (r["numerator"] if kind_count else r["value"])
        row = [names[ind], None if r is None else r["target"], value]
        row.append(None if r is None else r["met"])
        for c in comparisons:
            row.append(c.count_change(f) if kind_count else c.rate_diff(f, ind))
        rows.append(row)
    # 受理量 is a count: its own table keeps the columns' formats honest
    count_row = rows.pop(0)
    cols = [Column("指标"), Column("年度目标", "pct"), Column("本月", "pct"), Column("达标情况", "met")]
    cols += [Column(f"{c.label}（个百分点）", "pp") for c in comparisons]
    s = Section("考核指标计分卡")
    s.tables.append(
        Table(
            "计分卡",
            "考核指标计分卡（对照年度目标）",
            cols,
            rows,
            note="达标：本月值达到年度目标；比率为 0/0 时显示“—”。",
        )
    )
    s.tables.append(
        Table(
            "受理量",
            "受理量",
            count_columns("指标", "本月（件）", comparisons),
            [[count_row[0], count_row[2]] + count_row[4:]],
        )
    )
    return s


def trend_section(p: Period, covered: set[date]) -> Section:
    months = [p.shifted(i) for i in range(-12, 1)]
    shown = [m for m in months if m == p or is_covered(m, covered)]
    chart, table = trend(
        [(m.key, m.short, figures(m)) for m in shown],
        "近13个月受理量与办理质效",
        "trend13@minhu",
        "月份",
        "月度趋势",
        "近13个月",
    )
    s = Section("月度趋势（近13个月）", charts=[chart])
    missing = [m.key for m in months if m not in shown]
    if missing:
        s.paragraphs.append(f"以下月份数据未完整入库，未列入：{'、'.join(missing)}。")
    s.tables.append(table)
    return s


def channel_section(f: Figures, comparisons: list[Comparison]) -> Section:
    items = sorted(
        ((k, int(r["numerator"])) for k, r in f.scopes("case_count", "channel").items()),
        key=lambda kv: (-kv[1], kv[0]),
    )
    s = Section("渠道结构")
    if items:
        s.charts.append(hbar_chart("channels@minhu", "各渠道受理量（件）", items, "受理量（件）"))
    s.tables.append(
        Table(
            "渠道结构",
            "各渠道受理量",
            count_columns("渠道", "受理量（件）", comparisons),
            [[k, n] + [c.count_change(f, f"channel:{k}") for c in comparisons] for k, n in items],
        )
    )
    return s


def heat_section(p: Period) -> Section:
    cells = street_by_category(p)
    cat_tot: dict[str, int] = {}
    street_tot: dict[str, int] = {}
    grid: dict[tuple[str, str], int] = {}
    for c in cells:
        grid[(c["street"], c["cat"])] = int(c["n"])
        cat_tot[c["cat"]] = cat_tot.get(c["cat"], 0) + int(c["n"])
        street_tot[c["street"]] = street_tot.get(c["street"], 0) + int(c["n"])
    cats = sorted(cat_tot, key=lambda k: (-cat_tot[k], k))
    streets = sorted(street_tot, key=lambda k: (-street_tot[k], k))
    top, rest = cats[:HEAT_COLUMNS], cats[HEAT_COLUMNS:]
    short_rows = [
        [st]
        + [grid.get((st, c), 0) for c in top]
        + ([sum(grid.get((st, c), 0) for c in rest)] if rest else [])
        + [street_tot[st]]
        for st in streets
    ]
    short_cols = (
        [Column("街道")] + [Column(c, "heat") for c in top] + ([Column("其他", "heat")] if rest else [])
    )
    short_cols.append(Column("合计", "count"))
    full_cols = [Column("街道")] + [Column(c, "heat") for c in cats] + [Column("合计", "count")]
    full_rows = [[st] + [grid.get((st, c), 0) for c in cats] + [street_tot[st]] for st in streets]
    note = "清单口径：按受理时间统计的工单件数（一级分类），颜色越深件数越多。"
    return Section(
        "街道 × 诉求分类",
        tables=[
            Table(
                "街道分类热力表",
                "街道 × 一级分类（件）",
                short_cols,
                short_rows,
                note=note + "完整分类见附件。",
            ),
            Table(
                "街道分类全表",
                "街道 × 一级分类（全部分类，件）",
                full_cols,
                full_rows,
                note=note,
                in_html=False,
            ),
        ],
    )


def ranking(f: Figures, kind: str) -> list[dict]:
    """Scopes of a kind ranked for the 红黑榜 (see the module docstring)."""
    names = set(f.scopes("case_count", kind)) | set(f.scopes("ontime_close_rate", kind))
    items = []
    for k in names:
        scope = f"{kind}:{k}"
        items.append(
            {
                "name": k,
                "ontime": f.value("ontime_close_rate", scope),
                "satisfaction": f.value("satisfaction_rate", scope),
                "count": f.count(scope) or 0,
            }
        )
    ranked = [i for i in items if i["ontime"] is not None]
    ranked.sort(
        key=lambda i: (
            -i["ontime"],
            -(i["satisfaction"] if i["satisfaction"] is not None else -1.0),
            -i["count"],
            i["name"],
        )
    )
    n = len(ranked)
    for pos, i in enumerate(ranked, start=1):
        i["rank"] = pos
        i["board"] = "黑榜" if pos > n - 5 else ("红榜" if pos <= 5 else "")
    unranked = sorted((i for i in items if i["ontime"] is None), key=lambda i: i["name"])
    for i in unranked:
        i["rank"], i["board"] = None, "不参与排名"
    return ranked + unranked


def board_section(f: Figures) -> Section:
    s = Section("红黑榜")
    s.paragraphs.append(
        "按本月按时办结率由高到低排序，并列时依次比较群众满意率、受理量（多者在前）；"
        "前五名为红榜，后五名为黑榜（标红）；无应办结件的不参与排名。"
    )
    cols = [
        Column("排名", "count"),
        Column("名称"),
        Column("按时办结率", "pct"),
        Column("群众满意率", "pct"),
        Column("受理量（件）", "count"),
        Column("榜单", "flag"),
    ]
    for kind, label in (("street", "街道"), ("handling_unit", "承办单位")):
        items = ranking(f, kind)
        rows = [[i["rank"], i["name"], i["ontime"], i["satisfaction"], i["count"], i["board"]] for i in items]
        ranked = [r for r in rows if r[0] is not None]
        if len(ranked) <= 12:
            s.tables.append(Table(f"红黑榜_{label}", f"{label}红黑榜", cols, rows))
        else:
            red = [r for r in ranked if r[5] == "红榜"]
            black = [r for r in ranked if r[5] == "黑榜"]
            s.tables.append(Table(f"红榜_{label}", f"{label}红榜（前五名）", cols, red))
            s.tables.append(Table(f"黑榜_{label}", f"{label}黑榜（后五名）", cols, black))
            s.tables.append(Table(f"排名_{label}", f"{label}排名（全部）", cols, rows, in_html=False))
    return s


def special_section(f: Figures, p: Period, indicator: str, title: str, flag: str) -> Section:
    name = indicator_names()[indicator]
    s = Section(title, kpis=[rate_kpi(f, indicator, [])])
    street = sorted(
        ((k, r) for k, r in f.scopes(indicator, "street").items() if r["denominator"]),
        key=lambda kv: (float(kv[1]["value"]) if kv[1]["value"] is not None else 2.0, kv[0]),
    )
    s.tables.append(
        Table(
            f"{title}_街道",
            f"{name}（按街道）",
            [
                Column("街道"),
                Column(name, "pct"),
                Column("按时办结（件）", "count"),
                Column("应办结（件）", "count"),
                Column("达标", "met"),
            ],
            [[k, r["value"], r["numerator"], r["denominator"], r["met"]] for k, r in street],
            empty="本月无应办结件。",
        )
    )
    overdue = overdue_section(p, title=f"{title}超期工单", html_limit=15, where=f"{flag}")
    s.paragraphs += overdue.paragraphs
    for t in overdue.tables:
        t.sheet, t.title = f"{title}_超期", f"{title}超期工单清单"
        s.tables.append(t)
    return s


def _budget(f: Figures, scope: str) -> dict:
    r = f.get("budget_execution_rate", scope)
    return {
        "budget": None if r is None else r["denominator"],
        "paid": None if r is None else r["numerator"],
        "rate": f.value("budget_execution_rate", scope),
        "progress": f.value("time_progress", scope)
        if f.get("time_progress", scope)
        else f.value("time_progress"),
        "gap": f.value("execution_gap", scope),
    }


def budget_section(f: Figures) -> Section:
    s = Section("预算执行")
    total = _budget(f, "all")
    cost = f.get("cost_per_case")
    s.kpis = [
        Kpi(
            "budget_execution_rate",
            "预算执行率",
            fmt_pct(total["rate"]),
            [f"执行 {fmt_wan(total['paid'])} 万元 / 调整后预算 {fmt_wan(total['budget'])} 万元"],
            status=None if total["gap"] is None else ("ok" if total["gap"] >= 0 else "bad"),
        ),
        Kpi("time_progress", "序时进度", fmt_pct(total["progress"])),
        Kpi("execution_gap", "执行进度差", fmt_pp(total["gap"]), ["预算执行率 − 序时进度"]),
        Kpi(
            "cost_per_case",
            "每件诉求成本",
            fmt_yuan(None if cost is None else cost["value"]),
            unit="元",
            notes=[]
            if cost is None
            else [
                f"本年支出 {fmt_wan(cost['numerator'])} 万元 / 本年受理 {int(cost['denominator'] or 0):,} 件"
            ],
        ),
    ]
    projects = sorted(f.scopes("budget_execution_rate", "project"))
    names = project_names() if projects else {}
    rows = []
    for code in projects:
        b = _budget(f, f"project:{code}")
        lag = None if b["gap"] is None else ("滞后" if b["gap"] < 0 else "正常")
        rows.append(
            [names.get(code, code), code, b["budget"], b["paid"], b["rate"], b["progress"], b["gap"], lag]
        )
    cols = [
        Column("项目"),
        Column("项目编码"),
        Column("调整后预算（万元）", "wan"),
        Column("执行数（万元）", "wan"),
        Column("执行率", "pct"),
        Column("序时进度", "pct"),
        Column("进度差", "pp"),
        Column("状态", "flag"),
    ]
    if rows:
        items = [(r[0], r[4]) for r in rows if r[4] is not None]
        if items:
            s.charts.append(
                hbar_chart(
                    "budget@minhu",
                    "项目预算执行率与序时进度",
                    sorted(items, key=lambda kv: -kv[1]),
                    "预算执行率（%）",
                    percent=True,
                    marker=total["progress"],
                    marker_label="序时进度",
                )
            )
    s.tables.append(
        Table(
            "项目执行",
            "分项目预算执行（对照序时进度）",
            cols,
            rows,
            empty="数据仓库中暂无分项目预算执行数据（—）。",
            note="进度差 = 执行率 − 序时进度；为负标“滞后”。",
        )
    )
    sg_rows = []
    sums = {"budget": Decimal(0), "paid": Decimal(0)}
    have = False
    for code, name in sangong_items().items():
        b = _budget(f, f"economic:{code}")
        if b["budget"] is not None:
            have = True
            sums["budget"] += Decimal(b["budget"])
            sums["paid"] += Decimal(b["paid"] or 0)
        sg_rows.append([f"{code} {name}", b["budget"], b["paid"], b["rate"], b["gap"]])
    sg_rows.append(["合计", sums["budget"] if have else None, sums["paid"] if have else None, None, None])
    s.tables.append(
        Table(
            "三公经费",
            "三公经费执行",
            [
                Column("经济分类"),
                Column("调整后预算（万元）", "wan"),
                Column("执行数（万元）", "wan"),
                Column("执行率", "pct"),
                Column("进度差", "pp"),
            ],
            sg_rows,
            note="合计为各项金额之和；执行率均取自指标表，合计行不另行计算比率。",
        )
    )
    s.tables.append(
        Table(
            "每件诉求成本",
            "每件诉求成本（本年累计）",
            [
                Column("指标"),
                Column("本年支出（万元）", "wan"),
                Column("本年受理（件）", "count"),
                Column("每件成本（元）", "yuan"),
            ],
            [
                [
                    "每件诉求成本",
                    None if cost is None else cost["numerator"],
                    None if cost is None else cost["denominator"],
                    None if cost is None else cost["value"],
                ]
            ],
        )
    )
    return s


def build(p: Period, covered: set[date], gate: dict) -> list[Section]:
    f = figures(p)
    comparisons = [Comparison("环比", p.shifted(-1), covered), Comparison("同比", p.year_ago(), covered)]
    overview = Section(
        "总体情况",
        kpis=[count_kpi(f, comparisons)] + [rate_kpi(f, i, comparisons) for i in headline_rates()],
    )
    return [
        overview,
        scorecard(f, comparisons),
        trend_section(p, covered),
        channel_section(f, comparisons),
        heat_section(p),
        board_section(f),
        special_section(f, p, "bizenv_ontime_close_rate", "营商环境", "is_business_env"),
        special_section(f, p, "key_supervision_done_rate", "重点督办", "is_key_supervision"),
        budget_section(f),
        quality_section(p, gate),
    ]


NOTES = [
    "环比为较上月，同比为较上年同月；比率的变化以个百分点表示；对比期数据未完整入库时显示“—”。",
    "金额单位为万元（保留两位小数），比率保留两位小数；指标表中没有的数字显示“—”。",
]
run = runner("monthly", build, NOTES, TEMPLATE)
