"""The 日报, 周报 and 月报 rendered from a real warehouse (simulators → nightly backfill → dbt).

One backfill per module (2024-02-26 .. 2024-03-10: two full ISO weeks, so week-on-week figures
exist); each test works on its own copy of that $MINHU_HOME. The case indicator figures a report
must show are computed here by the independent oracle (tests/indicator_oracle.py, written from
the spec) from the landed case records, with the spec's annual targets written below; listings
are checked against an independent reading of the landed records. Only the budget figures
(execution rates of the department, projects and economic classes) are the warehouse's own
(`pipeline.indicators.fetch`): the finance simulator's budget in force and payments are checked
against the warehouse in tests/test_budget_warehouse.py, not recomputed here.
"""

from __future__ import annotations

import base64
import json
import math
import re
import shutil
import subprocess
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import indicator_oracle as oracle
import openpyxl
import pytest
from conftest import read_eml, subject_of

from minhu.calendar import TZ
from pipeline import nightly
from pipeline.dates import date_range
from pipeline.indicators import fetch
from reports import common, daily, monthly, weekly

pytestmark = pytest.mark.e2e

START, END = date(2024, 2, 26), date(2024, 3, 10)
DAY = "2024-03-05"
PNG = b"\x89PNG\r\n\x1a\n"

# The annual targets of the case indicators as the spec states them (indicators.md, column
# "target (seed)", from tables 11-12 of the published 2024 budget): each is reached at or above
# it (催办率 100%: every case that had to be urged was urged), a year's target holds for its days,
# weeks and months, and 受理量, 办结率 and 回访率 have none. 群众满意率: 95%, and at least the
# average of the three previous years' rates (those that have one): see `target`.
TARGETS = {
    "dispatch_timely_rate": 1.0,
    "ontime_close_rate": 1.0,
    "urge_rate": 1.0,
    "satisfaction_rate": 0.95,
    "bizenv_ontime_close_rate": 1.0,
    "key_supervision_done_rate": 1.0,
}


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------


def _env(mp, home, sources_url, smtp_port):
    mp.setenv("MINHU_HOME", str(home))
    mp.setenv("MINHU_SOURCE_URL", sources_url)
    mp.setenv("MINHU_SMTP_PORT", str(smtp_port))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, sources_url, smtp_port):
    home = tmp_path_factory.mktemp("reports-baseline") / "home"
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, home, sources_url, smtp_port)
        nightly.backfill(date_range(START, END))
    return home


def _copy(baseline, target):
    shutil.copytree(baseline, target, ignore=shutil.ignore_patterns("*.lock", "build"))
    return target


@pytest.fixture
def rhome(baseline, tmp_path, monkeypatch, sources_url, smtp_port):
    """A fresh copy of the baseline home for one test."""
    home = _copy(baseline, tmp_path / "home")
    _env(monkeypatch, home, sources_url, smtp_port)
    return home


@pytest.fixture(scope="module")
def rendered(baseline, tmp_path_factory, sources_url, smtp_port):
    """The three reports rendered once on a copy of the baseline: daily and monthly without
    sending, weekly sent (its message is checked for inline charts and attachments)."""
    home = _copy(baseline, tmp_path_factory.mktemp("reports-rendered") / "home")
    with pytest.MonkeyPatch.context() as mp:
        _env(mp, home, sources_url, smtp_port)
        out = {
            "daily": daily.run(DAY, send=False),
            "weekly": weekly.run("2024-W10", send=True),
            "monthly": monthly.run("2024-03", send=False),
        }
        # budget figures: the warehouse's (see the module docstring)
        budget = {
            ("month", "2024-03", "budget"): [
                r for r in fetch("month", "2024-03") if r["indicator"] == "budget_execution_rate"
            ],
            **{
                ("month", "2024-03", kind): fetch("month", "2024-03", kind)
                for kind in ("project", "economic")
            },
        }
    figures = case_figures(home)
    assert by_indicator(figures[("day", DAY)])["case_count"]["numerator"] > 0
    return {"home": home, "out": out, "figures": {**figures, **budget}, "cases": landed_cases(home)}


# --------------------------------------------------------------------------------------------
# the expected case indicators: the oracle's figures, the spec's targets
# --------------------------------------------------------------------------------------------


def case_figures(home) -> dict[tuple, list[dict]]:
    """The case indicator rows the tests expect, by (grain, period[, scope kind]): the oracle's,
    from the records landed under home (what the warehouse loaded)."""
    expected = Expected(*oracle.from_landed(home))
    periods = [("day", "2024-03-04"), ("day", "2024-02-27"), ("week", "2024-W09")]
    periods += [("day", d.isoformat()) for d in date_range(date(2024, 3, 4), END)]
    figures = {p: expected.rows(*p) for p in periods}
    for grain, period in (("day", DAY), ("week", "2024-W10"), ("month", "2024-03")):
        for kind in ("all", "channel", "street", "handling_unit"):
            key = (grain, period) if kind == "all" else (grain, period, kind)
            figures[key] = expected.rows(grain, period, kind)
    return figures


class Expected:
    """The rows `pipeline.indicators.fetch(grain, period, kind)` must hold for the case indicators:
    the oracle's figures of the landed cases, the spec's targets (TARGETS)."""

    def __init__(self, cases: list[dict], loaded_until: datetime) -> None:
        self.loaded_until = loaded_until
        # every scope any case has, with its cases (oracle.figures filters them again)
        self.cases = {s: [c for c in cases if oracle.in_scope(c, s)] for s in oracle.scopes_of(cases)}
        self.targets: dict[tuple[str, int, str], float | None] = {}

    def figures(self, grain: str, period: str, scope: str) -> dict[str, tuple[int, int | None]]:
        return oracle.figures(self.cases[scope], self.loaded_until, grain, period, scope)

    def target(self, indicator: str, year: int, scope: str) -> float | None:
        """The spec's annual target; 群众满意率's is at least the average of the scope's rates of
        the three previous years that have one."""
        key = (indicator, year, scope)
        if key not in self.targets:
            self.targets[key] = self._target(indicator, year, scope)
        return self.targets[key]

    def _target(self, indicator: str, year: int, scope: str) -> float | None:
        want = TARGETS.get(indicator)
        if indicator == "satisfaction_rate":
            rates = [
                oracle.value(indicator, *self.figures("year", str(y), scope)[indicator])
                for y in range(year - 3, year)
            ]
            rates = [r for r in rates if r is not None]
            if rates:
                want = max(want, sum(rates) / len(rates))
        return want

    def rows(self, grain: str, period: str, kind: str = "all") -> list[dict]:
        """Every scope of the kind: numerator, denominator, value, target and met (value >= target,
        null when either is)."""
        out = []
        for scope in sorted(s for s in self.cases if s == kind or s.startswith(kind + ":")):
            for indicator, (n, d) in self.figures(grain, period, scope).items():
                v = oracle.value(indicator, n, d)
                t = self.target(indicator, int(period[:4]), scope)
                out.append(
                    {
                        "indicator": indicator,
                        "scope": scope,
                        "numerator": n,
                        "denominator": d,
                        "value": v,
                        "target": t,
                        "met": None if v is None or t is None else v >= t,
                    }
                )
        return out


# --------------------------------------------------------------------------------------------
# helpers: an independent reading of the landed records, the HTML and the workbook
# --------------------------------------------------------------------------------------------


def landed_cases(home) -> dict[str, dict]:
    """The latest landed version of every case (as served, untyped), by case_id."""
    return {c["case_id"]: c for c in oracle.latest_versions(oracle.landed_records(home))}


def ts(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def local_date(v: str) -> date:
    return ts(v).astimezone(TZ).date()


def received_in(cases: dict, start: date, end: date) -> list[dict]:
    return [c for c in cases.values() if start <= local_date(c["received_at"]) < end]


def by_indicator(rows: list[dict], scope: str = "all") -> dict[str, dict]:
    return {r["indicator"]: r for r in rows if r["scope"] == scope}


def kpi(html: str, key: str) -> str:
    m = re.search(rf'id="v-{key}"[^>]*><b>([^<]+)</b>', html)
    assert m, f"no KPI {key} in the HTML"
    return m.group(1)


def pct_of(text: str) -> float:
    assert text.endswith("%"), text
    return float(text[:-1].replace(",", ""))


def assert_pct(text: str, value: float) -> None:
    """A percentage shown with two decimals is the indicator's value rounded."""
    assert abs(pct_of(text) - value * 100) <= 0.005 + 1e-9, (text, value)


def sheets(path) -> dict[str, list[dict]]:
    """Every sheet of a report workbook as rows keyed by the header row (row 2)."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        values = [list(r) for r in ws.iter_rows(values_only=True)]
        if ws.title == "说明" or len(values) < 2:
            out[ws.title] = values
            continue
        header = values[1]
        rows = []
        for r in values[2:]:
            if r[0] is None or all(v is None for v in r[1:]):
                break
            rows.append(dict(zip(header, r, strict=True)))
        out[ws.title] = rows
    return out


def xl(value):
    """What the workbook holds for a figure: the number (a double survives XLSX to ~15
    significant digits), or "—" when the figure is absent."""
    return "—" if value is None else pytest.approx(value, rel=1e-12, abs=1e-15)


def html_of(out: dict) -> str:
    return open(out["html"], encoding="utf-8").read()


# --------------------------------------------------------------------------------------------
# pure parts: periods and formatting
# --------------------------------------------------------------------------------------------


def test_periods_parse_shift_and_name_themselves():
    p = common.parse_period("weekly", "2024-W10")
    assert (p.start, p.end) == (date(2024, 3, 4), date(2024, 3, 11))
    assert p.text == "2024年第10周（3月4日—3月10日）"
    assert p.shifted(-1).key == "2024-W09" and p.year_ago().key == "2023-W10"
    w53 = common.parse_period("weekly", "2020-W53")
    assert w53.text == "2020年第53周（2020年12月28日—2021年1月3日）"
    assert w53.shifted(1).key == "2021-W01" and w53.year_ago().key == "2019-W52"
    m = common.parse_period("monthly", "2024-01")
    assert (m.shifted(-1).key, m.year_ago().key, m.end) == ("2023-12", "2023-01", date(2024, 2, 1))
    assert common.parse_period("monthly", "2024-12").end == date(2025, 1, 1)
    d = common.parse_period("daily", "2024-02-29")
    assert (d.shifted(-7).key, d.year_ago().key, d.text) == ("2024-02-22", "2023-02-28", "2024年2月29日")
    for kind, bad in (
        ("daily", "2024-3-1"),
        ("weekly", "2024-10"),
        ("weekly", "2023-W53"),
        ("monthly", "2024-13"),
    ):
        with pytest.raises(ValueError, match=kind):
            common.parse_period(kind, bad)


def test_formatting_follows_the_reporting_conventions():
    assert common.fmt_wan(Decimal("13414000")) == "1,341.40"
    assert common.fmt_wan(Decimal("13277949.50")) == "1,327.79"
    assert common.fmt_wan(Decimal("50")) == "0.01"  # 0.005 万元 rounds half up
    assert common.fmt_pct(0.98985) == "98.99%"
    assert common.fmt_pct(1) == "100.00%"
    assert common.fmt_pct(None) == common.fmt_wan(None) == "—"
    assert common.fmt_pp(0.0123) == "+1.23个百分点" and common.fmt_pp(-0.005) == "-0.50个百分点"
    assert common.fmt_change(common.change(110, 100)) == "+10.00%"
    assert common.change(5, 0) is None and common.diff(None, 0.5) is None


# --------------------------------------------------------------------------------------------
# 日报
# --------------------------------------------------------------------------------------------


def test_daily_figures_are_the_oracles_indicators(rendered):
    out, f = rendered["out"]["daily"], rendered["figures"]
    assert out["subject"] == "【硚口区网格中心】群众诉求日报 2024年3月5日"
    html = html_of(out)
    day = by_indicator(f[("day", DAY)])
    assert kpi(html, "case_count") == f"{day['case_count']['numerator']:,}"
    for ind in ("dispatch_timely_rate", "ontime_close_rate", "satisfaction_rate"):
        assert_pct(kpi(html, ind), day[ind]["value"])
        assert f"（{day[ind]['numerator']:,} / {day[ind]['denominator']:,}）" in html
    # 环比 (vs 2024-03-04) and vs the same weekday last week (2024-02-27), both loaded
    prev = by_indicator(f[("day", "2024-03-04")])["case_count"]["numerator"]
    week = by_indicator(f[("day", "2024-02-27")])["case_count"]["numerator"]
    now = day["case_count"]["numerator"]
    m = re.search(r"环比 ([+-]?[\d.]+)%（2024年3月4日 ([\d,]+) 件）", html)
    assert m and int(m.group(2).replace(",", "")) == prev
    assert abs(float(m.group(1)) - (now / prev - 1) * 100) <= 0.005 + 1e-9
    m = re.search(r"较上周同日 ([+-]?[\d.]+)%（2024年2月27日 ([\d,]+) 件）", html)
    assert m and int(m.group(2).replace(",", "")) == week

    book = sheets(out["xlsx"])
    assert {"说明", "按渠道", "按诉求类型", "诉求分类前十", "考核指标", "新增超期工单", "数据质量"} <= set(
        book
    )
    channels = {
        r["scope"].split(":", 1)[1]: r["numerator"]
        for r in f[("day", DAY, "channel")]
        if r["indicator"] == "case_count"
    }
    assert {r["渠道"]: r["受理量（件）"] for r in book["按渠道"]} == channels
    assert sum(channels.values()) == now
    table = {r["指标"]: r for r in book["考核指标"]}
    for ind, row in day.items():
        if ind == "case_count":
            continue
        name = common.INDICATOR_NAMES[ind]
        assert table[name]["本期"] == xl(row["value"]), ind
        assert table[name]["分子"] == row["numerator"] and table[name]["分母"] == row["denominator"]
        assert table[name]["目标"] == xl(row["target"]), ind
        assert table[name]["达标"] == {True: "达标", False: "未达标", None: "—"}[row["met"]]


def test_daily_listings_match_the_landed_records(rendered):
    out, cases = rendered["out"]["daily"], rendered["cases"]
    book = sheets(out["xlsx"])
    d = date.fromisoformat(DAY)
    received = received_in(cases, d, d + timedelta(days=1))
    # case types and top 10 categories: counts of the day's cases (不予受理 included)
    assert {r["诉求类型"]: r["受理量（件）"] for r in book["按诉求类型"]} == Counter(
        c["case_type"] for c in received
    )
    cats = Counter(c["category"] for c in received)
    top = book["诉求分类前十"]
    assert len(top) == 10 and [r["排名"] for r in top] == list(range(1, 11))
    assert [r["受理量（件）"] for r in top] == sorted(cats.values(), reverse=True)[:10]
    assert all(cats[r["诉求分类"]] == r["受理量（件）"] for r in top)
    # newly overdue: due that day, not closed by the due time; days to closing or to the end
    # of the newest day loaded (2024-03-10 24:00)
    known = datetime(2024, 3, 11, tzinfo=TZ)
    want = {
        c["case_id"]: math.ceil(((ts(c["closed_at"]) or known) - ts(c["due_at"])).total_seconds() / 86400)
        for c in cases.values()
        if c["due_at"]
        and c["status"] != "不予受理"
        and local_date(c["due_at"]) == d
        and (not c["closed_at"] or ts(c["closed_at"]) > ts(c["due_at"]))
    }
    got = {r["工单编号"]: r["超期天数"] for r in book["新增超期工单"]}
    assert want and got == want
    first = book["新增超期工单"][0]
    assert first["诉求分类"] == cases[first["工单编号"]]["category"]
    assert first["承办单位"] == cases[first["工单编号"]]["handling_unit"]
    # data quality: the night's landings and the gate
    quality = {r["项目"]: r["数值"] for r in book["数据质量"]}
    assert quality["质量门禁"] == "通过" and quality["校验通过（项）"] == quality["校验总数（项）"] > 0
    # a backfill lands month windows and loads them as day batches by the local date of updated_at
    shanghai = timezone(timedelta(hours=8))
    landed_that_night = sum(
        1
        for src in ("cases", "payments")
        for p in (rendered["home"] / "raw" / src).glob("*/*/records.jsonl")
        for line in p.open(encoding="utf-8")
        if datetime.fromisoformat(json.loads(line)["updated_at"]).astimezone(shanghai).date().isoformat()
        == DAY
    ) + sum(
        1 for p in (rendered["home"] / "raw").glob(f"budget_lines/{DAY}/*/records.jsonl") for _ in p.open()
    )
    assert quality["当日入库记录（条）"] == landed_that_night


# --------------------------------------------------------------------------------------------
# 周报
# --------------------------------------------------------------------------------------------


def test_weekly_figures_trend_hotspots_and_lowest(rendered):
    out, f, cases = rendered["out"]["weekly"], rendered["figures"], rendered["cases"]
    assert out["subject"] == "【硚口区网格中心】群众诉求周报 2024年第10周（3月4日—3月10日）"
    html = html_of(out)
    week = by_indicator(f[("week", "2024-W10")])
    before = by_indicator(f[("week", "2024-W09")])
    assert kpi(html, "case_count") == f"{week['case_count']['numerator']:,}"
    for ind in ("dispatch_timely_rate", "ontime_close_rate", "satisfaction_rate"):
        assert_pct(kpi(html, ind), week[ind]["value"])
    m = re.search(r"环比 ([+-]?[\d.]+)%（2024年第9周 ([\d,]+) 件）", html)
    assert m and int(m.group(2).replace(",", "")) == before["case_count"]["numerator"]

    book = sheets(out["xlsx"])
    trend = book["逐日趋势"]
    assert [r["日期"] for r in trend] == [d.isoformat() for d in date_range(date(2024, 3, 4), END)]
    for r in trend:
        day = by_indicator(f[("day", r["日期"])])
        assert r["受理量（件）"] == day["case_count"]["numerator"]
        assert r["按时办结率"] == xl(day["ontime_close_rate"]["value"])
    assert sum(r["受理量（件）"] for r in trend) == week["case_count"]["numerator"]

    # hotspots: the largest increase of a category's cases over the previous week
    now = Counter(c["category"] for c in received_in(cases, date(2024, 3, 4), date(2024, 3, 11)))
    prev = Counter(c["category"] for c in received_in(cases, date(2024, 2, 26), date(2024, 3, 4)))
    growth = {k: now[k] - prev[k] for k in now | prev}
    hot = book["热点分类"]
    assert hot and hot[0]["增量（件）"] == max(growth.values()) > 0
    for r in hot:
        assert (r["本周（件）"], r["上周（件）"], r["增量（件）"]) == (
            now[r["诉求分类"]],
            prev[r["诉求分类"]],
            growth[r["诉求分类"]],
        )
    assert [r["增量（件）"] for r in hot] == sorted((r["增量（件）"] for r in hot), reverse=True)

    # streets / units with the lowest 按时办结率: the week's scope rows, lowest first
    for kind, sheet in (("street", "按时办结率最低街道"), ("handling_unit", "按时办结率最低单位")):
        rows = [
            r
            for r in f[("week", "2024-W10", kind)]
            if r["indicator"] == "ontime_close_rate" and r["value"] is not None
        ]
        rows.sort(key=lambda r: (r["value"], -r["denominator"], r["scope"]))
        want = [(r["scope"].split(":", 1)[1], xl(r["value"]), r["denominator"]) for r in rows[:5]]
        assert [(r[list(r)[0]], r["按时办结率"], r["应办结（件）"]) for r in book[sheet]] == want


def test_weekly_email_embeds_charts_and_attaches_workbook_and_pdf(rendered):
    out, home = rendered["out"]["weekly"], rendered["home"]
    assert out["sent"] is True
    emls = sorted((home / "outbox").glob("*.eml"))
    assert len(emls) == 1
    msg = read_eml(emls[0])
    assert subject_of(msg) == out["subject"]
    assert set(msg["To"].addresses[i].addr_spec for i in range(len(msg["To"].addresses))) == set(out["to"])
    html = msg.get_body(("html",)).get_content()
    assert (
        'src="cid:trend7@minhu"' in html
        and "data:image" not in html
        and "http" not in html.split("<body", 1)[1]
    )
    images = {p["Content-ID"]: p.get_content() for p in msg.walk() if p.get_content_type() == "image/png"}
    assert set(images) == {"<trend7@minhu>"} and all(b.startswith(PNG) for b in images.values())
    attached = {p.get_filename(): p.get_content() for p in msg.iter_attachments()}
    assert set(attached) >= {"weekly-2024-W10.xlsx", "weekly-2024-W10.pdf"}
    assert attached["weekly-2024-W10.pdf"].startswith(b"%PDF")
    # the archive: HTML (charts as data: URIs), XLSX, PDF, the message and the send marker
    archive = home / "reports" / "weekly" / "2024-W10"
    assert {"weekly-2024-W10.html", "weekly-2024-W10.xlsx", "weekly-2024-W10.pdf"} <= {
        p.name for p in archive.iterdir()
    }
    assert len(list(archive.glob("message-*.eml"))) == 1 and len(list(archive.glob("sent-*.json"))) == 1
    archived = html_of(out)
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', archived)
    assert len(uris) == 1 and base64.b64decode(uris[0]).startswith(PNG)


# --------------------------------------------------------------------------------------------
# 月报
# --------------------------------------------------------------------------------------------


def test_monthly_scorecard_board_heat_and_budget(rendered):
    out, f = rendered["out"]["monthly"], rendered["figures"]
    assert out["subject"] == "【硚口区网格中心】群众诉求月报 2024年3月"
    assert set(out["charts"]) >= {"trend13@minhu", "channels@minhu"}
    html = html_of(out)
    month = by_indicator(f[("month", "2024-03")])
    book = sheets(out["xlsx"])
    card = {r["指标"]: r for r in book["计分卡"]}
    for ind in (
        "dispatch_timely_rate",
        "ontime_close_rate",
        "urge_rate",
        "satisfaction_rate",
        "bizenv_ontime_close_rate",
        "key_supervision_done_rate",
        "close_rate",
        "visit_rate",
    ):
        row, name = month[ind], common.INDICATOR_NAMES[ind]
        assert card[name]["本月"] == xl(row["value"]) and card[name]["年度目标"] == xl(row["target"])
        assert card[name]["达标情况"] == {True: "达标", False: "未达标", None: "—"}[row["met"]]
        # February is not completely loaded: no 环比 / 同比 rather than a wrong one
        assert card[name]["环比（个百分点）"] == card[name]["同比（个百分点）"] == "—"
    assert kpi(html, "case_count") == f"{month['case_count']['numerator']:,}"
    assert_pct(kpi(html, "ontime_close_rate"), month["ontime_close_rate"]["value"])
    assert "2024年2月数据未完整入库" in html

    # 红黑榜: an independent ranking of the month's street rows
    streets: dict[str, dict] = {}
    for r in f[("month", "2024-03", "street")]:
        streets.setdefault(r["scope"].split(":", 1)[1], {})[r["indicator"]] = r
    ranked = sorted(
        (k for k, v in streets.items() if v["ontime_close_rate"]["value"] is not None),
        key=lambda k: (
            -streets[k]["ontime_close_rate"]["value"],
            -(streets[k]["satisfaction_rate"]["value"] or -1),
            -streets[k]["case_count"]["numerator"],
            k,
        ),
    )
    board = book["红黑榜_街道"]
    assert [r["名称"] for r in board] == ranked
    assert [r["名称"] for r in board if r["榜单"] == "黑榜"] == ranked[-5:]
    assert [r["名称"] for r in board if r["榜单"] == "红榜"] == ranked[:5]
    assert all(r["按时办结率"] == xl(streets[r["名称"]]["ontime_close_rate"]["value"]) for r in board)
    units = book["排名_承办单位"]
    assert [r["名称"] for r in book["黑榜_承办单位"]] == [r["名称"] for r in units if r["榜单"] == "黑榜"]
    assert len(book["黑榜_承办单位"]) == 5

    # street × category: a listing whose street totals are the street scopes' 受理量
    heat = {r["街道"]: r["合计"] for r in book["街道分类全表"]}
    assert heat == {k: v["case_count"]["numerator"] for k, v in streets.items()}

    # budget rows: whatever the warehouse holds for the month is shown, absent ones are "—"
    projects = {
        r["scope"].split(":", 1)[1]: r
        for r in f[("month", "2024-03", "project")]
        if r["indicator"] == "budget_execution_rate"
    }
    assert {r["项目编码"] for r in book["项目执行"]} == set(projects)
    for r in book["项目执行"]:
        assert r["执行率"] == xl(projects[r["项目编码"]]["value"])
    sangong = {r["经济分类"][:5]: r for r in book["三公经费"] if r["经济分类"] != "合计"}
    # the 三公 economic codes of the government classification (因公出国（境）费用, 公务接待费,
    # 公务用车运行维护费, 公务用车购置), written here rather than read from reports.common
    assert set(sangong) == {"30212", "30217", "30231", "31013"}
    economic = {
        r["scope"].split(":", 1)[1]: r
        for r in f[("month", "2024-03", "economic")]
        if r["indicator"] == "budget_execution_rate"
    }
    for code, r in sangong.items():
        want = economic.get(code, {}).get("value")
        assert r["执行率"] == xl(want)
    total = by_indicator(f[("month", "2024-03", "budget")]).get("budget_execution_rate")
    if total is None:
        assert kpi(html, "budget_execution_rate") == "—"
    else:
        assert_pct(kpi(html, "budget_execution_rate"), total["value"])


def test_pdfs_print_the_body_and_charts_render_as_png(rendered):
    for kind, out in rendered["out"].items():
        pdf = open(out["pdf"], "rb").read()
        assert pdf.startswith(b"%PDF"), kind
        info = subprocess.run(["pdfinfo", out["pdf"]], capture_output=True, text=True, check=True).stdout
        assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= 1
    for cid in rendered["out"]["monthly"]["charts"]:
        png = rendered["home"] / "reports" / "monthly" / "2024-03" / f"{cid.split('@')[0]}.png"
        assert png.read_bytes().startswith(PNG)


def test_no_personal_data_in_any_report(rendered):
    personal = set()
    for r in oracle.landed_records(rendered["home"]):
        personal |= {r[k] for k in ("citizen_name", "citizen_phone", "address") if r.get(k)}
    assert personal
    for kind, out in rendered["out"].items():
        html = re.sub(r"data:image/png;base64,[^\"]+", "", html_of(out))
        wb = openpyxl.load_workbook(out["xlsx"])
        cells = " ".join(
            str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
        )
        leaked = [p for p in personal if p in html or p in cells]
        assert not leaked, (kind, leaked[:5])


# --------------------------------------------------------------------------------------------
# sending: once, --resend, never from a failed gate or an unloaded period
# --------------------------------------------------------------------------------------------


def test_cli_sends_once_and_resend_sends_again(rhome, capsys):
    from pipeline.cli import main

    assert main(["report", "daily", "--period", DAY, "--send", "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["sent"] is True and first["subject"] == "【硚口区网格中心】群众诉求日报 2024年3月5日"
    assert len(list((rhome / "outbox").glob("*.eml"))) == 1
    again = daily.run(DAY, send=True)
    assert again["sent"] is False and again["already_sent"] is True
    assert len(list((rhome / "outbox").glob("*.eml"))) == 1
    assert main(["report", "daily", "--period", DAY, "--resend", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["sent"] is True
    emls = sorted((rhome / "outbox").glob("*.eml"))
    assert len(emls) == 2
    assert {subject_of(read_eml(p)) for p in emls} == {first["subject"]}
    assert len(list((rhome / "reports" / "daily" / DAY).glob("message-*.eml"))) == 2


def test_failed_gate_alerts_engineers_and_sends_no_report(rhome, capsys):
    from pipeline.cli import main
    from pipeline.reporting import ReportBlocked, report

    gate = rhome / "reports" / "quality" / "last_gate.json"
    g = json.loads(gate.read_text(encoding="utf-8"))
    g["passed"] = False
    g["outcomes"].append(
        {
            "suite": "marts",
            "check": "fct_cases",
            "expectation": "expect_column_values_to_be_unique",
            "severity": "error",
            "success": False,
            "details": "",
        }
    )
    gate.write_text(json.dumps(g), encoding="utf-8")
    with pytest.raises(ReportBlocked, match="质量门禁未通过"):
        report("weekly", "2024-W10", send=True)
    assert main(["report", "daily", "--period", DAY, "--send"]) == 1
    assert "质量门禁未通过" in capsys.readouterr().err
    emls = [read_eml(p) for p in sorted((rhome / "outbox").glob("*.eml"))]
    assert len(emls) == 2
    assert all(m["To"] == "data-engineers@qiaokou-grid.local" for m in emls)
    assert all("未发送" in subject_of(m) for m in emls)
    assert not list((rhome / "reports").glob("*/*/sent-*.json"))
    # rendering without sending still works (for the engineers to look at)
    assert daily.run(DAY, send=False)["sent"] is False


def test_a_period_not_completely_loaded_is_not_sent(rhome):
    from pipeline.reporting import ReportBlocked, report

    with pytest.raises(ReportBlocked, match="2024-03-11"):
        report("daily", "2024-03-11", send=True)
    with pytest.raises(ReportBlocked, match="2024-03-11"):
        report("monthly", "2024-03", send=True)
    emls = [read_eml(p) for p in (rhome / "outbox").glob("*.eml")]
    assert len(emls) == 2 and all(m["To"] == "data-engineers@qiaokou-grid.local" for m in emls)
    assert not (rhome / "reports" / "daily" / "2024-03-11").exists()
