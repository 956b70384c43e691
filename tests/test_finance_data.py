"""The finance-system simulator (simulators/finance_data.py) against the published 2024 budget."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from budget_seed import SEED, parse

from minhu.calendar import is_working_day
from minhu.schemas import BUDGET_LINE_FIELDS, EXPENSE_TYPES, FUND_SOURCES, PAYMENT_FIELDS
from simulators import finance_data as fd

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
UNIT = "118001"
BASIC = ("人员经费", "公用经费")
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")


def wan(yuan: Decimal) -> Decimal:
    return (yuan / 10000).quantize(Decimal("0.01"), ROUND_HALF_UP)


@pytest.fixture(scope="module")
def seed() -> dict[str, list[dict]]:
    return parse()


@pytest.fixture(scope="module")
def lines() -> list[dict]:
    """Latest version of each 2024 line of unit 118001 (the published tables are its initial amounts)."""
    return [r for r in fd.latest_lines(2024) if r["unit_code"] == UNIT]


def total(lines: list[dict], keep=lambda r: True) -> Decimal:
    """Sum of the initial amounts of the lines kept, in 万元 rounded like the published tables."""
    return wan(sum((Decimal(r["initial_amount"]) for r in lines if keep(r)), Decimal(0)))


def by_expense(code_of, code, column):
    """Keep-function for a coded row and a column of tables 3, 5-1, 5-2 and 6."""
    types = {"合计": EXPENSE_TYPES, "基本支出": BASIC, "项目支出": ("项目支出",)}.get(column, (column,))
    return lambda r: code_of(r).startswith(code) and r["expense_type"] in types


def check_rows(rows, lines, code_of, columns):
    checked = 0
    for row in rows:
        for column in columns:
            keep = by_expense(code_of, row["code"], column)
            assert total(lines, keep) == row[column], (row["code"], row["name"], column)
            checked += 1
    return checked


# ------------------------------------------------------------------ published tables, figure by figure


def test_table1_totals_by_fund_and_function_class(seed, lines):
    rows = {r["name"]: r["预算数"] for r in seed["1"]}
    everything = total(lines)
    funds = {
        "一般公共预算拨款收入": "一般公共预算",
        "政府性基金预算拨款收入": "政府性基金预算",
        "国有资本经营预算拨款收入": "国有资本经营预算",
        "财政专户管理资金收入": "财政专户管理资金",
    }
    for name, fund in funds.items():
        assert total(lines, lambda r, f=fund: r["fund_source"] == f) == rows[name], name
    own = ("事业收入", "事业单位经营收入", "上级补助收入", "附属单位上缴收入", "其他收入")
    assert total(lines, lambda r: r["fund_source"] == "单位资金") == sum(rows[n] for n in own)
    for name in ("本年收入合计", "本年支出合计", "收入总计", "支出总计"):
        assert rows[name] == everything, name
    assert rows["上年结转结余"] == rows["年终结转结余"] == 0  # the simulator has no carry-over

    class_code = {name: code for code, name in fd.FUNCTION_CLASSES.items() if len(code) == 3}
    expenditure = [r for r in seed["1"] if r["side"] == "expenditure" and r["name"].endswith("支出")]
    expenditure = [r for r in expenditure if r["name"] not in ("本年支出合计", "支出总计")]
    assert len(expenditure) == 24
    for row in expenditure:
        code = class_code.get(row["name"], "-")
        assert total(lines, lambda r, c=code: r["function_code"].startswith(c)) == row["预算数"], row["name"]
    assert {r["function_code"][:3] for r in lines} <= {class_code.get(r["name"]) for r in expenditure}


def test_table2_income_by_unit(seed, lines):
    columns = ("一般公共预算", "政府性基金预算", "国有资本经营预算", "财政专户管理资金")
    for row in seed["2"]:
        mine = [r for r in lines if r["unit_code"].startswith(row["code"])]
        assert total(mine) == row["合计"] == row["本年收入小计"]
        for fund in columns:
            assert total(mine, lambda r, f=fund: r["fund_source"] == f) == row[fund], (row["code"], fund)
        assert row["上年结转结余小计"] == 0


@pytest.mark.parametrize("table", ["3", "5-1"])
def test_tables_3_and_5_1_by_function_class(seed, lines, table):
    rows = seed[table]
    columns = ("合计", "基本支出", "项目支出", *(("人员经费", "公用经费") if table == "5-1" else ()))
    assert check_rows(rows, lines, lambda r: r["function_code"], columns) == len(rows) * len(columns)
    codes = {r["code"] for r in rows}
    for row in rows:
        if row["code"]:
            assert fd.FUNCTION_CLASSES[row["code"]] == row["name"]
        else:
            assert row["name"] == "合计"
    for line in lines:
        code = line["function_code"]
        assert {code[:3], code[:5], code} <= codes, code
        assert line["function_name"] == fd.FUNCTION_CLASSES[code]


def test_table5_2_by_unit(seed, lines):
    rows = seed["5-2"]
    columns = ("合计", "基本支出", "人员经费", "公用经费", "项目支出")
    assert check_rows(rows, lines, lambda r: r["unit_code"], columns) == 15
    names = {r["code"]: r["name"] for r in rows}
    assert {r["dept_name"] for r in lines} == {names[r["dept_code"]] for r in lines}
    assert {r["unit_name"] for r in lines} == {names[UNIT]}


def test_table6_basic_expenditure_by_economic_class(seed, lines):
    rows = seed["6"]
    basic = [r for r in lines if r["expense_type"] in BASIC]
    assert check_rows(rows, basic, lambda r: r["economic_code"], ("合计", "人员经费", "公用经费")) == 3 * 28
    codes = {r["code"] for r in rows}
    for row in rows[1:]:
        assert fd.ECONOMIC_CLASSES[row["code"]] == row["name"]
    for line in basic:
        assert {line["economic_code"][:3], line["economic_code"]} <= codes
    for line in lines:
        assert line["economic_name"] == fd.ECONOMIC_CLASSES[line["economic_code"]]


def test_table7_sangong(seed, lines):
    (row,) = seed["7"]
    public = [r for r in lines if r["fund_source"] == "一般公共预算"]
    parts = {}
    for code, column in fd.SANGONG.items():
        parts[column] = total(public, lambda r, c=code: r["economic_code"] == c)
        assert parts[column] == row[column], column
    cars = ("公务用车购置费", "公务用车运行费")
    assert total(public, lambda r: fd.SANGONG.get(r["economic_code"]) in cars) == row["公务用车购置及运行费"]
    assert total(public, lambda r: r["economic_code"] in fd.SANGONG) == row["合计"]


def test_tables_8_and_9_have_no_fund_or_soe_budget(seed, lines):
    assert seed["8"] == [] and seed["9"] == []
    assert not [r for r in lines if r["fund_source"] in ("政府性基金预算", "国有资本经营预算")]


def test_table10_projects(seed, lines):
    projects = [r for r in lines if r["expense_type"] == "项目支出"]
    assert all(r["project_code"] for r in projects)
    assert not [r for r in lines if r["expense_type"] in BASIC and r["project_code"]]
    funds = ("一般公共预算", "政府性基金预算", "国有资本经营预算", "财政专户管理资金", "单位资金")
    published = set()
    for row in seed["10"]:
        code = row["code"]
        if len(code) > 6:  # a project
            mine = [r for r in projects if r["project_code"] == code]
            assert {r["project_name"] for r in mine} == {row["name"]}
            assert {r["unit_name"] for r in mine} == {row["unit_name"]}
            published.add(code)
        elif code in ("", "31"):  # 合计, 本级支出项目
            mine = projects
        else:  # department or unit
            mine = [r for r in projects if r["unit_code"].startswith(code)]
        assert total(mine) == row["合计"], code
        for fund in funds:
            assert total(mine, lambda r, f=fund: r["fund_source"] == f) == row[fund], (code, fund)
        assert all(row[f"结转{f}"] == 0 for f in funds[:3])
    assert {r["project_code"] for r in projects} == published


# --------------------------------------------------------------------------------------- budget lines


DISTRICTS = tuple(fd.PROFILES)
YEARS = (2022, 2023, 2024, 2025)


@pytest.mark.parametrize("district", DISTRICTS)
def test_budget_line_records_and_versions(district):
    keys = [f.key for f in BUDGET_LINE_FIELDS]
    for year in YEARS:
        records = fd.budget_lines(year, district)
        versions = defaultdict(list)
        for r in records:
            assert list(r) == keys
            assert r["fiscal_year"] == year and isinstance(r["fiscal_year"], int)
            assert r["expense_type"] in EXPENSE_TYPES and r["fund_source"] in FUND_SOURCES
            assert len(r["function_code"]) == 7 and len(r["economic_code"]) == 5
            assert r["function_name"] == fd.FUNCTION_CLASSES[r["function_code"]]
            assert r["economic_name"] == fd.ECONOMIC_CLASSES[r["economic_code"]]
            assert r["unit_code"].startswith(r["dept_code"]) and r["unit_name"].startswith(district)
            ts = dt.datetime.fromisoformat(r["updated_at"])
            assert r["updated_at"].endswith("+08:00") and ts.year == year
            versions[fd.line_key(r)].append(r)
        assert [r["updated_at"] for r in records] == sorted(r["updated_at"] for r in records)
        adjusted = 0
        for vs in versions.values():
            assert vs[0]["initial_amount"] == vs[0]["adjusted_amount"]
            assert len({v["initial_amount"] for v in vs}) == 1
            assert [v["updated_at"] for v in vs] == sorted({v["updated_at"] for v in vs})
            # adjusted during the year (年中调整), never on 1 January
            adjusted += len(vs) > 1 and vs[-1]["adjusted_amount"] != vs[0]["adjusted_amount"]
            assert all(v["updated_at"][5:7] > "03" for v in vs[1:])
        assert adjusted >= 3, year


def _shape(year, district=fd.DEFAULT_DISTRICT, unit=UNIT):
    return {
        (r["function_code"], r["economic_code"], r["expense_type"])
        for r in fd.budget_lines(year, district)
        if r["unit_code"] == unit
    }


def _initial(year, keep=lambda r: True, district=fd.DEFAULT_DISTRICT):
    return sum((Decimal(r["initial_amount"]) for r in fd.latest_lines(year, district) if keep(r)), Decimal(0))


ANNUITY = ("2080506", "30109", "人员经费")  # 职业年金: budgeted by 118001 from 2025
SURVIVOR = ("2080899", "30305", "人员经费")  # 遗属生活补助: 2080899 其他优抚支出 retired after 2024


def test_codes_added_and_retired_between_years():
    base = _shape(2024)
    assert SURVIVOR in base and ANNUITY not in base
    assert _shape(2022) == _shape(2023) == base
    assert _shape(2025) == base - {SURVIVOR} | {ANNUITY}
    codes_2025 = {r["function_code"] for r in fd.budget_lines(2025)}
    assert "2080506" in codes_2025 and "2080899" not in codes_2025


def test_a_subordinate_unit_in_2023_only():
    for year in YEARS:
        units = {(r["unit_code"], r["unit_name"]) for r in fd.budget_lines(year)}
        if year == 2023:
            assert units == {
                (UNIT, "硚口区社会管理网格化服务中心本级"),
                ("118002", "硚口区网格化管理监督指挥中心"),
            }
        else:
            assert units == {(UNIT, "硚口区社会管理网格化服务中心本级")}, year
    sub = [r for r in fd.budget_lines(2023) if r["unit_code"] == "118002"]
    assert {r["dept_code"] for r in sub} == {"118"} and {r["expense_type"] for r in sub} == set(BASIC)
    pays = {p["unit_code"] for p in fd.year_payments(2023)}
    assert pays == {UNIT, "118002"}
    assert {p["unit_code"] for y in (2022, 2024, 2025) for p in fd.year_payments(y)} == {UNIT}


def test_2022_and_2023_carry_the_totals_of_table_11():
    """Table 11 of the published 2024 budget gives the department's 2022 and 2023 totals (万元,
    one decimal): 合计 557.4 / 480.9, 基本支出 289.7 / 441.8, 项目支出 267.7 / 39.1."""
    text = SEED.read_text(encoding="utf-8")
    for row in ("659 100% 557.4 480.9", "455.15 69% 289.7 441.8", "203.85 31% 267.7 39.1"):
        assert row in text  # the figures below are those of the published table
    published = {2022: ("557.4", "289.7", "267.7"), 2023: ("480.9", "441.8", "39.1")}

    def wan1(yuan):
        return (yuan / 10000).quantize(Decimal("0.1"), ROUND_HALF_UP)

    for year, (everything, basic, projects) in published.items():
        assert wan1(_initial(year)) == Decimal(everything), year
        assert wan1(_initial(year, lambda r: r["expense_type"] in BASIC)) == Decimal(basic), year
        assert wan1(_initial(year, lambda r: r["expense_type"] == "项目支出")) == Decimal(projects), year


def test_2025_scales_the_2024_budget():
    base = _initial(2024, lambda r: r["function_code"] != SURVIVOR[0])
    amount = _initial(2025, lambda r: r["function_code"] != ANNUITY[0])
    assert Decimal("0.95") <= amount / base <= Decimal("1.05") and amount != base
    for year in YEARS:
        for district in DISTRICTS:
            projects = {r["project_code"] for r in fd.budget_lines(year, district) if r["project_code"]}
            assert projects and {code[6:8] for code in projects} == {f"{year % 100}"}


def test_the_second_district_has_its_own_centre_and_codes():
    qk = fd.budget_lines(2024, "硚口区")
    ja = fd.budget_lines(2024, "江岸区")
    assert {(r["dept_code"], r["dept_name"]) for r in ja} == {("121", "江岸区社会管理网格化服务中心")}
    assert {r["unit_code"] for r in ja} == {"121001"}
    assert not {r["unit_code"] for r in ja} & {r["unit_code"] for r in qk}
    own_functions = {r["function_code"] for r in ja} - {r["function_code"] for r in qk}
    own_economics = {r["economic_code"] for r in ja} - {r["economic_code"] for r in qk}
    assert {"2010301", "2101101", "2120199"} <= own_functions
    assert {"30227", "30239", "31007"} <= own_economics
    assert {r["function_code"][:3] for r in ja} == {"201", "208", "210", "212", "221"}
    assert {r["project_name"] for r in ja if r["project_code"]} == {
        "江岸区网格化服务管理工作经费",
        "12345热线江岸分中心运行经费",
    }
    assert all(r["project_code"].startswith("42010224121T") for r in ja if r["project_code"])
    assert {p["unit_code"] for p in fd.year_payments(2024, "江岸区")} == {"121001"}
    assert fd.year_payments(2024, "江岸区") != fd.year_payments(2024, "硚口区")
    with pytest.raises(KeyError, match="no finance profile for district '某某区'"):
        fd.budget_lines(2024, "某某区")


def test_every_case_district_has_a_finance_profile():
    from simulators import case_data

    assert set(fd.PROFILES) == set(case_data.DISTRICTS)
    centres = {}
    for district in fd.PROFILES:
        rows = fd.budget_lines(2024, district)
        (centre,) = {(r["dept_code"], r["dept_name"]) for r in rows}
        assert centre[1] == f"{district}社会管理网格化服务中心"
        centres[district] = centre[0]
    assert len(set(centres.values())) == len(centres)  # each district its own department code
    jh = fd.budget_lines(2024, "江汉区")
    assert {r["project_name"] for r in jh if r["project_code"]} == {
        "江汉区网格化服务中心工作经费",
        "劳务派遣人员工作经费",
        "网格员培训经费",
    }
    late = [r for r in jh if r["updated_at"] >= "2024-11"]  # the training project cut in November
    assert [(r["project_name"], r["initial_amount"], r["adjusted_amount"]) for r in late] == [
        ("网格员培训经费", "355000.00", "305000.00")
    ]


def test_amounts_are_strings_with_two_decimals():
    for r in fd.budget_lines(2024) + fd.budget_lines(2023) + fd.budget_lines(2025, "江岸区"):
        for key in ("initial_amount", "adjusted_amount"):
            assert isinstance(r[key], str) and AMOUNT.match(r[key]), r
    for p in fd.year_payments(2024) + fd.year_payments(2023) + fd.year_payments(2025, "江岸区"):
        assert isinstance(p["amount"], str) and AMOUNT.match(p["amount"]) and p["amount"] != "0.00", p


def test_amounts_look_realistic(lines):
    odd = [r for r in lines if Decimal(r["initial_amount"]) % 100]
    assert len(odd) > len(lines) / 2


# ------------------------------------------------------------------------------------------ determinism


DIGEST = (
    "import hashlib, json\n"
    "from simulators import finance_data as fd\n"
    "blob = json.dumps([fd.budget_lines(2024), fd.year_payments(2024)], ensure_ascii=False, sort_keys=True)\n"
    "print(hashlib.sha256(blob.encode()).hexdigest())\n"
)


def _digest() -> str:
    blob = json.dumps([fd.budget_lines(2024), fd.year_payments(2024)], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def test_deterministic_within_and_across_processes():
    day = dt.date(2024, 3, 12)
    first, digest = fd.payments(day), _digest()
    fd._year_payments.cache_clear()
    fd._lines.cache_clear()
    assert fd.payments(day) == first and _digest() == digest
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        out = subprocess.run(
            [sys.executable, "-c", DIGEST], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == digest


def test_returned_records_are_copies():
    fd.budget_lines(2024)[0]["initial_amount"] = "0.00"
    fd.payments(dt.date(2024, 3, 12))[0]["amount"] = "0.00"
    assert fd.budget_lines(2024)[0]["initial_amount"] != "0.00"
    assert fd.payments(dt.date(2024, 3, 12))[0]["amount"] != "0.00"


# --------------------------------------------------------------------------------------------- payments


@pytest.mark.parametrize("district", DISTRICTS)
@pytest.mark.parametrize("year", YEARS)
def test_payments_respect_the_budget(year, district):
    versions = defaultdict(list)
    for r in fd.budget_lines(year, district):
        versions[fd.line_key(r)].append(r)
    pays = fd.year_payments(year, district)
    keys = [f.key for f in PAYMENT_FIELDS]
    net = defaultdict(Decimal)
    for p in sorted(pays, key=lambda p: (p["updated_at"], p["payment_id"])):
        assert list(p) == keys
        key = fd.line_key(p)
        assert key in versions, p
        net[key] += Decimal(p["amount"])
        # never more than the budget in force when the payment was made
        in_force = [v for v in versions[key] if v["updated_at"] <= p["updated_at"]]
        assert in_force and net[key] <= Decimal(in_force[-1]["adjusted_amount"]), p
        assert net[key] >= 0, p
    for key, vs in versions.items():
        assert net[key] <= Decimal(vs[-1]["adjusted_amount"])
    budget = sum(Decimal(vs[-1]["adjusted_amount"]) for vs in versions.values())
    assert Decimal("0.90") <= sum(net.values()) / budget <= 1
    refunds = [p for p in pays if p["amount"].startswith("-")]
    assert 2 <= len(refunds) <= 10
    assert len({p["payment_id"] for p in pays}) == len(pays)


def test_payments_by_business_date():
    pays = fd.year_payments(2024)
    days = sorted({p["pay_date"] for p in pays})
    assert len(days) > 100
    sliced = [p for d in days for p in fd.payments(dt.date.fromisoformat(d))]
    assert sliced == pays
    assert fd.payments(dt.date(2024, 2, 10)) == []  # Spring Festival
    for p in pays:
        ts = dt.datetime.fromisoformat(p["updated_at"])
        assert p["updated_at"].endswith("+08:00") and ts.date().isoformat() == p["pay_date"]
        assert re.fullmatch(rf"ZF{p['pay_date'].replace('-', '')}\d{{5}}", p["payment_id"])
        assert is_working_day(ts.date())
        assert p["summary"] and p["payee"]


def test_payment_patterns():
    pays = fd.year_payments(2024)
    salary = [p for p in pays if p["economic_code"] == "30101" and not p["amount"].startswith("-")]
    months = {p["pay_date"][5:7] for p in salary}
    assert len(months) == 12 and all(10 <= int(p["pay_date"][8:]) <= 20 for p in salary)
    december = sum(Decimal(p["amount"]) for p in pays if p["pay_date"][5:7] == "12")
    assert december > sum(Decimal(p["amount"]) for p in pays) / 12  # year-end catch-up
    people = {p["payee"] for p in pays if p["economic_code"] in ("30211", "30305")}
    assert people and all(not n.endswith(("公司", "中心", "局")) for n in people)


# ------------------------------------------------------------------------------------ the setting


def test_the_district_setting_selects_the_finance_profile(monkeypatch):
    import requests

    from minhu.settings import DEFAULT_TOKEN
    from simulators.server import serve_in_thread

    monkeypatch.setenv("MINHU_DISTRICT", "江岸区")
    server, url = serve_in_thread(0)
    try:
        auth = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
        year = {"updated_since": "2025-01-01T00:00:00+08:00", "updated_until": "2026-01-01T00:00:00+08:00"}

        def get(path, **params):
            return requests.get(
                f"{url}/api/v1/budget/{path}", params={**year, **params}, headers=auth, timeout=30
            )

        lines = get("lines", fiscal_year=2025, limit=5000).json()
        assert lines["data"] == fd.budget_lines(2025, "江岸区") and lines["next_cursor"] is None
        assert get("lines/count", fiscal_year=2025).json() == {"total": len(fd.budget_lines(2025, "江岸区"))}
        pays = get("payments/count").json()["total"]
        assert pays == len(fd.year_payments(2025, "江岸区"))
        # a request may name the district, as for cases
        assert get("lines", fiscal_year=2025, district="硚口区", limit=5000).json()[
            "data"
        ] == fd.budget_lines(2025)
        bad = get("payments", district="某某区")
        assert bad.status_code == 400 and "no finance profile for district '某某区'" in bad.json()["error"]
    finally:
        server.shutdown()
        server.server_close()
