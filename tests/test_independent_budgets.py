"""Budgets the code has never seen, built from published budgets other than the 硚口 seed.

tests/data/budgets/<name>/ holds, per fixture, a budget-line export and a payment export made
here from a REAL published unit budget (README.md there cites the source and says what was
taken and what was split), and expected.csv: the figures typed from that publication (budget,
and executed where the fixture's payments pay a published item in full), per indicator scope.

- wuzhou_1465_2021: GBK, Chinese headers; a 事业单位 under 201 一般公共服务支出 / 20106 财政事务.
- wuzhou_1208_2021: UTF-8, English keys; a research institute, 206 科学技术支出, with a project.

Each is imported from scratch (fresh $MINHU_HOME) with `minhu import budget-lines` and `minhu
import payments`, and `minhu indicators --grain year --period 2021 --scope …` must give every
expected figure to the fen. Their codes (20106, 2010650, 206, 30209, 30399 …) are outside the 硚口 2024
budget: the open classification must take them.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline import cli

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parent / "data" / "budgets"

# name -> (budget-line file, payment file, encoding, fiscal year, the published totals stated in the text)
FIXTURES = {
    "wuzhou_1465_2021": ("预算指标_2021.csv", "支付明细_2021.csv", "gbk", "2021"),
    "wuzhou_1208_2021": ("budget_lines_2021.csv", "payments_2021.csv", "utf-8", "2021"),
}
# the published 基本支出 and 项目支出 totals (yuan), as the publications state them
BASIC_AND_PROJECTS = {
    "wuzhou_1465_2021": (Decimal("924289.71"), Decimal("0")),  # 基本支出预算 924,289.71 元 (100.00%)
    "wuzhou_1208_2021": (Decimal("1440224.60"), Decimal("53700")),  # 基本支出 1440224.6 元，项目支出 53700 元
}
ZH = {
    "预算年度": "fiscal_year", "单位编码": "unit_code", "项目编码": "project_code", "功能分类科目编码": "function_code",
    "经济分类科目编码": "economic_code", "支出类型": "expense_type", "资金来源": "fund_source",
    "调整后预算数": "adjusted_amount", "更新时间": "updated_at", "支付凭证号": "payment_id", "支付金额": "amount",
}  # fmt: skip


def expected(name: str) -> list[dict]:
    with (DATA / name / "expected.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _rows(name: str, index: int) -> list[dict]:
    file, encoding = FIXTURES[name][index], FIXTURES[name][2]
    with (DATA / name / file).open(encoding=encoding, newline="") as fh:
        return [{ZH.get(k, k): v for k, v in r.items()} for r in csv.DictReader(fh)]


def _latest(rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    """The latest version of each record (times compared as written: each file uses one format)."""
    latest: dict[tuple, dict] = {}
    for r in sorted(rows, key=lambda r: r["updated_at"]):
        latest[tuple(r[k] for k in key)] = r
    return list(latest.values())


def _scopes(line: dict) -> set[str]:
    f, e = line["function_code"], line["economic_code"]
    scopes = {
        "all",
        f"function:{f[:3]}",
        f"function:{f[:5]}",
        f"function:{f}",
        f"economic:{e[:3]}",
        f"economic:{e}",
    }
    scopes.add(f"expense_type:{line['expense_type']}")
    if line["project_code"]:
        scopes.add(f"project:{line['project_code']}")
    return scopes


LINE_KEY = (
    "fiscal_year",
    "unit_code",
    "project_code",
    "function_code",
    "economic_code",
    "fund_source",
    "expense_type",
)


# ----------------------------------------------------- the files hold the published figures


@pytest.mark.unit
@pytest.mark.parametrize("name", FIXTURES)
def test_the_files_add_up_to_the_published_figures(name):
    """The fixture files, read here with the csv module, reproduce expected.csv: the check that
    the split of published totals into lines kept every published figure."""
    lines = _latest(_rows(name, 0), LINE_KEY)
    budget: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        for scope in _scopes(line):
            budget[scope] += Decimal(line["adjusted_amount"])
    pays = _latest(_rows(name, 1), ("payment_id",))
    paid_lines = {tuple(line[k] for k in LINE_KEY): line for line in lines}
    executed: dict[str, Decimal] = defaultdict(Decimal)
    for p in pays:
        for scope in _scopes(paid_lines[tuple(p[k] for k in LINE_KEY)]):
            executed[scope] += Decimal(p["amount"])
    for row in expected(name):
        assert budget[row["scope"]] == Decimal(row["budget"]), row
        if row["executed"]:
            assert executed[row["scope"]] == Decimal(row["executed"]), row
    basic, projects = BASIC_AND_PROJECTS[name]
    assert budget["expense_type:人员经费"] + budget["expense_type:公用经费"] == basic
    assert budget["expense_type:项目支出"] == projects


@pytest.mark.unit
def test_the_fixtures_exercise_the_reader():
    gbk = (DATA / "wuzhou_1465_2021" / FIXTURES["wuzhou_1465_2021"][0]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert gbk.decode("gbk").startswith("预算年度,")
    utf8 = (DATA / "wuzhou_1208_2021" / FIXTURES["wuzhou_1208_2021"][1]).read_text(encoding="utf-8")
    assert utf8.startswith("payment_id,")
    for name in FIXTURES:
        assert (DATA / name / "README.md").read_text(encoding="utf-8").count("http") >= 1


# ------------------------------------------------------------------- through the warehouse


@pytest.fixture
def imported(request, tmp_path, monkeypatch, smtp_port, capsys):
    name = request.param
    monkeypatch.setenv("MINHU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MINHU_SMTP_PORT", str(smtp_port))
    lines_file, pays_file, *_ = FIXTURES[name]
    results = {}
    for kind, file in (("budget-lines", lines_file), ("payments", pays_file)):
        capsys.readouterr()
        code = cli.main(["import", kind, str(DATA / name / file), "--format", "json"])
        out = capsys.readouterr()
        assert code == 0, out.err
        results[kind] = json.loads(out.out.splitlines()[-1])
    return name, results


def _indicators(capsys, period: str, scope: str) -> dict[str, dict]:
    capsys.readouterr()
    assert (
        cli.main(["indicators", "--grain", "year", "--period", period, "--scope", scope, "--format", "json"])
        == 0
    )
    return {(r["scope"], r["indicator"]): r for r in json.loads(capsys.readouterr().out)}


@pytest.mark.parametrize("imported", list(FIXTURES), indirect=True)
def test_the_warehouse_reproduces_the_published_budget(imported, capsys):
    name, results = imported
    year = FIXTURES[name][3]
    lines, pays = _rows(name, 0), _rows(name, 1)
    # every row accounted for: one superseded version of a budget line / a payment in each file
    assert (results["budget-lines"]["rows"], results["budget-lines"]["quarantined"]) == (len(lines), 0)
    assert results["budget-lines"]["loaded"] == len(_latest(lines, LINE_KEY))
    assert (results["payments"]["rows"], results["payments"]["quarantined"]) == (len(pays), 0)
    assert results["payments"]["loaded"] == len(_latest(pays, ("payment_id",)))

    rows = expected(name)
    got = {}
    for kind in ("all", "function", "economic", "expense_type", "project"):
        got.update(_indicators(capsys, year, kind))
    for row in rows:
        rate = got[(row["scope"], "budget_execution_rate")]
        assert Decimal(rate["denominator"]) == Decimal(row["budget"]), row
        if row["executed"]:
            assert Decimal(rate["numerator"]) == Decimal(row["executed"]), row
    # no scope the publication does not have: the function hierarchy is complete in expected.csv
    functions = {s for s, i in got if s.startswith("function:") and i == "budget_execution_rate"}
    assert functions == {r["scope"] for r in rows if r["scope"].startswith("function:")}
    # economic 类: those the publication states, and together the whole budget
    classes = {s: Decimal(r["denominator"]) for (s, i), r in got.items() if i == "budget_execution_rate"}
    classes = {
        s: v for s, v in classes.items() if s.startswith("economic:") and len(s) == len("economic:301")
    }
    assert {r["scope"] for r in rows if r["scope"] in classes} == {
        r["scope"] for r in rows if r["scope"].startswith("economic:") and len(r["scope"]) == 12
    }
    assert sum(classes.values()) == Decimal(next(r["budget"] for r in rows if r["scope"] == "all"))
    basic, projects = BASIC_AND_PROJECTS[name]
    by_type = {
        s: Decimal(r["denominator"])
        for (s, i), r in got.items()
        if s.startswith("expense_type:") and i == "budget_execution_rate"
    }
    assert by_type.get("expense_type:人员经费", 0) + by_type.get("expense_type:公用经费", 0) == basic
    assert by_type.get("expense_type:项目支出", Decimal(0)) == projects
