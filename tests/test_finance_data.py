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
from budget_seed import parse

from minhu.calendar import is_working_day
from minhu.schemas import BUDGET_LINE_FIELDS, EXPENSE_TYPES, FUND_SOURCES, PAYMENT_FIELDS
from simulators import finance_data as fd

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


def test_budget_line_records_and_versions():
    keys = [f.key for f in BUDGET_LINE_FIELDS]
    for year in (2022, 2023, 2024, 2025):
        records = fd.budget_lines(year)
        versions = defaultdict(list)
        for r in records:
            assert list(r) == keys
            assert r["fiscal_year"] == year and isinstance(r["fiscal_year"], int)
            assert r["expense_type"] in EXPENSE_TYPES and r["fund_source"] in FUND_SOURCES
            assert len(r["function_code"]) == 7 and len(r["economic_code"]) == 5
            ts = dt.datetime.fromisoformat(r["updated_at"])
            assert r["updated_at"].endswith("+08:00") and ts.year == year
            versions[fd.line_key(r)].append(r)
        assert [r["updated_at"] for r in records] == sorted(r["updated_at"] for r in records)
        adjusted = 0
        for vs in versions.values():
            assert vs[0]["initial_amount"] == vs[0]["adjusted_amount"]
            assert len({v["initial_amount"] for v in vs}) == 1
            assert [v["updated_at"] for v in vs] == sorted({v["updated_at"] for v in vs})
            adjusted += len(vs) > 1 and vs[-1]["adjusted_amount"] != vs[0]["adjusted_amount"]
        assert adjusted >= 3, year


def test_other_years_scale_the_2024_structure():
    def shape(year):
        return sorted(
            (r["function_code"], r["economic_code"], r["expense_type"]) for r in fd.budget_lines(year)
        )

    base = sum(Decimal(r["adjusted_amount"]) for r in fd.latest_lines(2024))
    for year in (2022, 2023, 2025):
        assert shape(year) == shape(2024)
        amount = sum(Decimal(r["adjusted_amount"]) for r in fd.latest_lines(year))
        assert Decimal("0.95") <= amount / base <= Decimal("1.05") and amount != base
        assert {r["project_code"][6:8] for r in fd.budget_lines(year) if r["project_code"]} == {
            f"{year % 100}"
        }


def test_amounts_are_strings_with_two_decimals():
    for r in fd.budget_lines(2024) + fd.budget_lines(2023):
        for key in ("initial_amount", "adjusted_amount"):
            assert isinstance(r[key], str) and AMOUNT.match(r[key]), r
    for p in fd.year_payments(2024) + fd.year_payments(2023):
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


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_payments_respect_the_budget(year):
    versions = defaultdict(list)
    for r in fd.budget_lines(year):
        versions[fd.line_key(r)].append(r)
    pays = fd.year_payments(year)
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
