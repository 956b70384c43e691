"""年度绩效自评表 (`minhu report selfeval`): scoring, configuration, and an independent department.

An independent department: the 江汉区 grid centre (dept 119, unit 119001), fiscal year 2023,
imported from archive files made here (budget lines with Chinese headers, payments with English
headers) through `pipeline.imports.import_files`. Its published final accounts are stated up
front (the spec's example for the department: budget 1341.40 万元, executed 1327.79 万元 → 98.99%
→ 19.80 points; and three projects) and the JSON contract must equal them.

The 2024 simulator run (department and project rates and scores against marts.fct_budget_lines
and marts.fct_payments) is in tests/test_budget_warehouse.py, on that module's pipeline run.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import read_eml, subject_of

from pipeline import cli
from pipeline.imports import import_files
from reports import selfeval
from reports.common import ReportBlocked

pytestmark = pytest.mark.e2e

# --------------------------------------------------------------- the 2023 final accounts, stated

P1, P2, P3 = "42010523119T000000100", "42010523119T000000101", "42010523119T000000102"
STATED = [
    # the spec's example: 1341.40 万元 budget, 1327.79 万元 executed -> 98.99% -> 19.80 points
    {"scope": "all", "budget": "13414000.00", "executed": "13277900.00", "rate": 0.9899, "score": 19.80},
    {
        "scope": f"project:{P1}",
        "budget": "1200000.00",
        "executed": "1164000.00",
        "rate": 0.9700,
        "score": 19.40,
    },
    {
        "scope": f"project:{P2}",
        "budget": "2500000.00",
        "executed": "2500000.00",
        "rate": 1.0000,
        "score": 20.00,
    },
    # adjusted down in November below what it spent: 102% executed, the score stops at 20
    {
        "scope": f"project:{P3}",
        "budget": "300000.00",
        "executed": "306000.00",
        "rate": 1.0200,
        "score": 20.00,
    },
]
PROJECT_NAMES = {P1: "江汉区网格化服务中心工作经费", P2: "劳务派遣人员工作经费", P3: "网格员培训经费"}

# (function, economic, expense_type, project, [(updated_at, initial, adjusted), ...], payments)
LINES = [
    ("2010350", "30101", "人员经费", "", [("2023-01-06 09:00:00", "3000000.00", "3000000.00"),
                                          ("2023-07-10 15:00:00", "3000000.00", "3100000.00")], ["258000.00"] * 12),
    ("2010350", "30103", "人员经费", "", [("2023-01-06 09:00:01", "2500000.00", "2500000.00")], ["620000.00"] * 4),
    ("2080505", "30108", "人员经费", "", [("2023-01-06 09:00:02", "1200000.00", "1200000.00")],
     ["99583.33"] * 11 + ["99583.37"]),
    ("2210201", "30113", "人员经费", "", [("2023-01-06 09:00:03", "900000.00", "900000.00")], ["75000.00"] * 12),
    ("2101102", "30110", "人员经费", "", [("2023-01-06 09:00:04", "1014000.00", "1014000.00")], ["100000.00"] * 10),
    ("2010350", "30299", "公用经费", "", [("2023-01-06 09:00:05", "800000.00", "800000.00"),
                                          ("2023-07-10 15:00:05", "800000.00", "700000.00")],
     ["20000.00"] * 30 + ["41900.00", "-5000.00"]),
    ("2010399", "30202", "项目支出", P1, [("2023-01-06 09:00:06", "400000.00", "400000.00")], ["97000.00"] * 4),
    ("2010399", "30299", "项目支出", P1, [("2023-01-06 09:00:07", "800000.00", "800000.00")], ["97000.00"] * 8),
    ("2010399", "30226", "项目支出", P2, [("2023-01-06 09:00:08", "2500000.00", "2500000.00")],
     ["208333.33"] * 11 + ["208333.37"]),
    ("2010399", "30216", "项目支出", P3, [("2023-01-06 09:00:09", "350000.00", "350000.00"),
                                          ("2023-11-20 10:00:00", "350000.00", "300000.00")], ["102000.00"] * 3),
]  # fmt: skip
NAMES = {
    "2010350": "事业运行", "2080505": "机关事业单位基本养老保险缴费支出", "2210201": "住房公积金",
    "2101102": "事业单位医疗", "2010399": "其他政府办公厅（室）及相关机构事务支出",
    "30101": "基本工资", "30103": "奖金", "30108": "机关事业单位基本养老保险缴费", "30113": "住房公积金",
    "30110": "职工基本医疗保险缴费", "30299": "其他商品和服务支出", "30202": "印刷费", "30226": "劳务费",
    "30216": "培训费",
}  # fmt: skip
PAYEES = ("刘德明", "江汉区财政局代发专户", "陈晓红", "武汉江城人力资源有限公司")
HEADERS_CN = {
    "fiscal_year": "预算年度", "dept_code": "部门编码", "dept_name": "部门名称", "unit_code": "单位编码",
    "unit_name": "单位名称", "project_code": "项目编码", "project_name": "项目名称",
    "function_code": "功能分类科目编码", "function_name": "功能分类科目名称", "economic_code": "经济分类科目编码",
    "economic_name": "经济分类科目名称", "expense_type": "支出类型", "fund_source": "资金来源",
    "initial_amount": "年初预算数", "adjusted_amount": "调整后预算数", "updated_at": "更新时间",
}  # fmt: skip


def write_files(folder: Path) -> tuple[Path, Path, int]:
    """The 2023 budget-line export (Chinese headers, UTF-8 with BOM) and payment export (English
    headers); returns their paths and the number of payment rows (one payment has two versions)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines_path, pays_path = folder / "江汉区2023预算指标.csv", folder / "payments_2023.csv"
    with lines_path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS_CN.values())
        for function, economic, expense, project, versions, _ in LINES:
            for updated, initial, adjusted in versions:
                w.writerow(
                    [
                        "2023", "119", "江汉区社会管理网格化服务中心", "119001", "江汉区社会管理网格化服务中心本级",
                        project, PROJECT_NAMES.get(project, ""), function, NAMES[function], economic,
                        NAMES[economic], expense, "一般公共预算", initial, adjusted, updated,
                    ]
                )  # fmt: skip
    rows = 0
    with pays_path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["payment_id", "pay_date", "fiscal_year", "unit_code", "project_code", "function_code",
                    "economic_code", "fund_source", "expense_type", "amount", "payee", "summary", "updated_at"])  # fmt: skip
        for n, (function, economic, expense, project, _, amounts) in enumerate(LINES):
            for k, amount in enumerate(amounts):
                month = 1 + k * 11 // max(1, len(amounts) - 1) if len(amounts) > 1 else 6
                day = dt.date(2023, month, 10 + k % 15)
                pid = f"JH{day:%Y%m%d}{n:02d}{k:03d}"
                stamp = f"{day} 10:{k % 60:02d}:00"
                payee = PAYEES[(n + k) % len(PAYEES)]
                base = ["2023", "119001", project, function, economic, "一般公共预算", expense]
                if n == 0 and k == 2:  # keyed wrongly first, corrected the same afternoon
                    w.writerow([pid, day, *base, "260000.00", payee, "工资", stamp])
                    rows += 1
                    stamp = f"{day}T15:30:00+08:00"
                w.writerow(
                    [pid, day, *base, amount, payee, "退回多付" if amount.startswith("-") else "支付", stamp]
                )
                rows += 1
    return lines_path, pays_path, rows


def test_the_stated_accounts_add_up():
    """The files are made from LINES; the figures asserted below are stated independently."""
    budget = sum(Decimal(v[-1][2]) for *_, v, _ in LINES)
    executed = sum(Decimal(a) for *_, amounts in LINES for a in amounts)
    assert (f"{budget:.2f}", f"{executed:.2f}") == (STATED[0]["budget"], STATED[0]["executed"])


# ---------------------------------------------------------------------------------------- scoring


def test_budget_score_follows_the_spec_example():
    assert selfeval.budget_score(Decimal("13414000.00"), Decimal("13277900.00")) == Decimal("19.80")
    assert selfeval.budget_score(Decimal("300000.00"), Decimal("306000.00")) == Decimal("20.00")
    assert selfeval.budget_score(Decimal("1000.00"), Decimal("999.75")) == Decimal("20.00")  # 19.995 half up
    assert selfeval.budget_score(Decimal("1000.00"), Decimal("999.25")) == Decimal("19.99")  # 19.985 half up
    assert selfeval.budget_score(Decimal("0"), Decimal("5.00")) is None


def spec(**kw) -> selfeval.IndicatorSpec:
    return selfeval.IndicatorSpec(name="x", weight=Decimal(kw.pop("weight", 10)), **kw)


def test_indicator_scores():
    ge = spec(indicator="satisfaction_rate", target=Decimal("0.95"), direction="ge", weight=20)
    assert selfeval.quantitative_score(ge, Decimal("0.9025")) == Decimal("19.00")  # 20 × 0.9025 / 0.95
    assert selfeval.quantitative_score(ge, Decimal("0.99")) == Decimal("20.00")  # never above the weight
    assert selfeval.quantitative_score(ge, None) == Decimal("0.00")
    le = spec(actual=Decimal("120"), target=Decimal("100"), direction="le")
    assert selfeval.quantitative_score(le, Decimal("125")) == Decimal("8.00")  # 10 × 100 / 125
    assert selfeval.quantitative_score(le, Decimal("80")) == Decimal("10.00")
    assert (
        selfeval.qualitative_score(spec(kind="qualitative", achievement="partly", fraction=Decimal("0.6")))
        == 6
    )


def _toml(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "2031.toml"
    path.write_text("fiscal_year = 2031\nbudget_weight = 20\n" + body, encoding="utf-8")
    return path


GOOD = """
[[department.indicators]]
name = "按时办结率"
indicator = "ontime_close_rate"
target = 1.0
weight = 50
[[department.indicators]]
name = "工作制度"
kind = "qualitative"
achievement = "partly"
fraction = 0.7
weight = 30
[[project_default.indicators]]
name = "印刷品数量"
actual = 120
target = 100
weight = 80
"""


def test_configuration_is_data_and_errors_name_the_file_and_entry(tmp_path):
    config = selfeval.load_config(2031, _toml(tmp_path, GOOD))
    assert [s.name for s in config.department] == ["按时办结率", "工作制度"]
    assert config.indicators("project:ANY")[0].actual == Decimal("120")
    bad = {  # the error names the file, the entry and what is wrong
        "project_default: budget_weight + indicator weights = 90, not 100": GOOD.replace(
            "weight = 80", "weight = 70"
        ),
        "department.indicators[1] (工作制度): fraction 0.9 is outside the partly band": GOOD.replace(
            "fraction = 0.7", "fraction = 0.9"
        ),
        "project_default.indicators[0] (印刷品数量): give either `indicator`": GOOD.replace(
            "actual = 120\n", ""
        ),
        "department.indicators[0] (按时办结率): unknown field(s) threshold": GOOD.replace(
            "target = 1.0", "target = 1.0\nthreshold = 1"
        ),
    }
    for message, body in bad.items():
        with pytest.raises(selfeval.ConfigError) as err:
            selfeval.load_config(2031, _toml(tmp_path, body))
        assert str(err.value).startswith(str(tmp_path / "2031.toml") + ": " + message), str(err.value)
    with pytest.raises(FileNotFoundError, match="1999"):
        selfeval.load_config(1999)


def test_the_repository_keeps_a_configuration_per_year():
    for year in (2023, 2024):
        config = selfeval.load_config(year)
        for scope in ("all", "project:ANY"):
            specs = config.indicators(scope)
            assert config.budget_weight + sum(s.weight for s in specs) == 100
            assert {s.indicator for s in specs if s.indicator} >= {"ontime_close_rate", "satisfaction_rate"}


# ------------------------------------------------------------------------- 江汉区 2023, from files


@pytest.fixture(scope="module")
def jianghan(tmp_path_factory, sources_url, smtp_port):
    home = tmp_path_factory.mktemp("jianghan") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINHU_HOME", str(home))
        mp.setenv("MINHU_SOURCE_URL", sources_url)
        mp.setenv("MINHU_SMTP_PORT", str(smtp_port))
        mp.setenv("MINHU_DISTRICT", "江汉区")
        lines_path, pays_path, pay_rows = write_files(home.parent / "files")
        (lines_result,) = import_files("budget-lines", [lines_path])
        (pays_result,) = import_files("payments", [pays_path])
        assert lines_result["quarantined"] == pays_result["quarantined"] == 0, (lines_result, pays_result)
        assert (pays_result["rows"], pays_result["loaded"], pays_result["superseded"]) == (
            pay_rows,
            pay_rows - 1,
            1,
        )
        yield home


def _json(capsys, *args) -> list:
    capsys.readouterr()
    assert cli.main(["report", "selfeval", "--period", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_jianghan_2023_json_equals_the_stated_accounts(jianghan, capsys):
    got = _json(capsys, "2023", "--format", "json")
    assert [set(r) for r in got] == [{"scope", "budget", "executed", "rate", "score"}] * len(STATED)
    assert [r["scope"] for r in got] == [s["scope"] for s in STATED]
    for row, stated in zip(got, STATED, strict=True):
        assert (row["budget"], row["executed"], row["score"]) == (
            stated["budget"],
            stated["executed"],
            stated["score"],
        )
        assert round(row["rate"], 4) == stated["rate"]
        assert row["rate"] == pytest.approx(
            float(Decimal(stated["executed"]) / Decimal(stated["budget"])), abs=1e-6
        )


def test_jianghan_2023_workbook_page_and_email(jianghan, capsys):
    import openpyxl

    out = selfeval.run("2023")
    archive = jianghan / "reports" / "selfeval" / "2023"
    assert Path(out["archive"]) == archive and not out["sent"]
    book = openpyxl.load_workbook(archive / "selfeval-2023.xlsx")
    assert book.sheetnames == ["部门整体", P1, P2, P3]
    dept = book["部门整体"]
    assert "江汉区社会管理网格化服务中心" in dept["A2"].value
    assert [dept.cell(5, c).value for c in range(2, 7)] == [
        1341.40,
        1327.79,
        pytest.approx(0.989854, abs=1e-6),
        20,
        19.8,
    ]
    items = [r for r in dept.iter_rows(min_row=8, values_only=True) if r[0] and r[0] != "总分"]
    assert len(items) == 7 and sum(r[5] for r in items) == 80
    # no case data in this warehouse: the warehouse indicators have no actual and score 0; the
    # qualitative 工作制度 scores its configured share (achieved, 100%)
    assert [(r[2], r[4], r[6]) for r in items if r[6]] == [(items[4][2], "已完成", 10)]
    total = next(r for r in dept.iter_rows(min_row=8, values_only=True) if r[0] == "总分")
    assert total[5:7] == (100, pytest.approx(29.80))
    p3 = book[P3]
    assert PROJECT_NAMES[P3] in p3["A2"].value and p3["F5"].value == 20
    html = (archive / "selfeval-2023.html").read_text(encoding="utf-8")
    for text in ("1341.40", "1327.79", "98.99%", "19.80", PROJECT_NAMES[P1], "116.40"):
        assert text in html, text
    for payee in PAYEES:
        assert payee not in html

    assert cli.main(["report", "selfeval", "--period", "2023", "--send"]) == 0
    emls = sorted((jianghan / "outbox").glob("*.eml"))
    assert len(emls) == 1
    msg = read_eml(emls[0])
    assert subject_of(msg) == "【江汉区网格中心】年度绩效自评表 2023年度"
    assert [p.get_filename() for p in msg.iter_attachments()] == ["selfeval-2023.xlsx", "selfeval-2023.pdf"]
    assert (archive / "selfeval-2023.pdf").read_bytes().startswith(b"%PDF")
    assert "98.99%" in msg.get_body(("html",)).get_content()
    assert selfeval.run("2023", send=True)["sent"] is False  # once per year and recipient list
    assert selfeval.run("2023", send=True, resend=True)["sent"] is True
    assert len(list((jianghan / "outbox").glob("*.eml"))) == 2


def test_no_sending_after_a_failed_gate(jianghan):
    gate_file = jianghan / "reports" / "quality" / "last_gate.json"
    good = gate_file.read_text(encoding="utf-8")
    gate_file.write_text(json.dumps({**json.loads(good), "passed": False}), encoding="utf-8")
    before = set((jianghan / "outbox").glob("*.eml"))
    try:
        with pytest.raises(ReportBlocked, match="not sent"):
            selfeval.run("2023", send=True, resend=True)
    finally:
        gate_file.write_text(good, encoding="utf-8")
    (alert,) = set((jianghan / "outbox").glob("*.eml")) - before
    msg = read_eml(alert)
    assert subject_of(msg) == "【minhu】年度绩效自评表未发送：2023年度"
    assert msg["To"] == "data-engineers@qiaokou-grid.local"


def test_a_year_without_budget_is_a_clear_error(jianghan, capsys):
    assert cli.main(["report", "selfeval", "--period", "2024"]) == 1
    assert "no budget for fiscal year 2024" in capsys.readouterr().err
    assert cli.main(["report", "selfeval", "--period", "2023-12"]) == 2  # invalid input
