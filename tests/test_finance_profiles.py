"""The finance simulator's districts and fiscal years, through the real pipeline into the warehouse.

Each profile is built from scratch: a fresh $MINHU_HOME, the real simulator server over HTTP (the
session's, 硚口区; or one started with MINHU_DISTRICT=江岸区), `nightly.backfill` (extract → load →
dbt → gate → publish). The tests then read marts.fct_budget_lines and `minhu indicators` of the
published warehouse and check that the year-to-year differences of the source reach it:

- 硚口区 2022–2024: the subordinate unit 118002 has lines in 2023 only; the department totals of
  2022 and 2023 are the ones table 11 of the published 2024 budget states (557.4 / 480.9 万元); the
  July 2024 adjustment changes adjusted_amount between a night before it and a night after it.
- 硚口区 2025: the code added in 2025 (2080506 / 30109 职业年金) appears, the retired one (2080899)
  is absent in 2025 and still present in 2024; 2025's mid-year adjustment reaches the warehouse.
- 江岸区: lines carry its own dept/unit codes, names, function/economic codes and projects.
- 江汉区: its own centre (dept 119) with the codes the warehouse already knew, end to end.

The codes of 2025 and of 江岸区 are outside the 硚口 2024 budget: the open classification
must take them (names from the lines, unnamed codes warned).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from conftest import home_env

from minhu import warehouse
from pipeline import cli, nightly
from simulators import finance_data as fd

pytestmark = pytest.mark.e2e


def wan1(yuan) -> Decimal:
    return (Decimal(yuan) / 10000).quantize(Decimal("0.1"), ROUND_HALF_UP)


def lines(year: int) -> list[dict]:
    return warehouse.query(
        "select unit_code, unit_name, dept_code, project_code, function_code, function_name, economic_code,"
        " economic_name, expense_type, initial_amount, adjusted_amount, version_count"
        " from marts.fct_budget_lines where fiscal_year = ? order by line_id",
        [year],
    )


def indicators(capsys, period: str, scope: str) -> dict[str, dict]:
    capsys.readouterr()
    assert (
        cli.main(["indicators", "--grain", "year", "--period", period, "--scope", scope, "--format", "json"])
        == 0
    )
    return {r["indicator"]: r for r in json.loads(capsys.readouterr().out)}


def _source(year: int, district: str, before: str) -> dict[tuple, dict]:
    """The finance system's latest version of each line as of a time (what a night then sees)."""
    latest = {}
    for r in fd.budget_lines(year, district):
        if r["updated_at"] < before:
            latest[(r["unit_code"], r["project_code"], r["function_code"], r["economic_code"])] = r
    return latest


# ------------------------------------------------------------------------------------------- 硚口区


@pytest.fixture(scope="module")
def qiaokou(tmp_path_factory, sources_url, smtp_port):
    home = tmp_path_factory.mktemp("qiaokou-years") / "home"
    with home_env(home, sources_url, smtp_port) as mp:
        mp.setenv("MINHU_DISTRICT", "硚口区")
        nightly.backfill([dt.date(2022, 8, 1), dt.date(2023, 8, 1), dt.date(2024, 7, 17)])
        before = {y: lines(y) for y in (2022, 2023, 2024)}
        nightly.backfill([dt.date(2024, 7, 19)])  # the night after the July adjustment
        yield {"home": home, "before": before}


def test_subordinate_unit_only_in_its_year(qiaokou):
    for year in (2022, 2023, 2024):
        units = {(r["unit_code"], r["unit_name"]) for r in lines(year)}
        main = ("118001", "硚口区社会管理网格化服务中心本级")
        if year == 2023:
            assert units == {main, ("118002", "硚口区网格化管理监督指挥中心")}
        else:
            assert units == {main}, year
    sub = [r for r in lines(2023) if r["unit_code"] == "118002"]
    assert len(sub) == 8 and {r["dept_code"] for r in sub} == {"118"}


def test_earlier_years_carry_the_totals_of_table_11(qiaokou):
    # table 11 of the published 2024 budget, 近两年收支情况 (万元): 2022, 2023
    published = {2022: ("557.4", "289.7", "267.7"), 2023: ("480.9", "441.8", "39.1")}
    for year, (everything, basic, projects) in published.items():
        rows = lines(year)
        assert wan1(sum(r["initial_amount"] for r in rows)) == Decimal(everything)
        assert wan1(sum(r["initial_amount"] for r in rows if r["expense_type"] != "项目支出")) == Decimal(
            basic
        )
        assert wan1(sum(r["initial_amount"] for r in rows if r["expense_type"] == "项目支出")) == Decimal(
            projects
        )


def test_the_july_adjustment_reaches_the_warehouse(qiaokou, capsys):
    key = ("118001", None, "2010350", "30107")  # 绩效工资, adjusted on 18 July 2024
    before = {
        (r["unit_code"], r["project_code"], r["function_code"], r["economic_code"]): r
        for r in qiaokou["before"][2024]
    }
    after = {
        (r["unit_code"], r["project_code"], r["function_code"], r["economic_code"]): r for r in lines(2024)
    }
    assert before.keys() == after.keys()
    assert before[key]["adjusted_amount"] == before[key]["initial_amount"] == Decimal("565087.20")
    assert after[key]["initial_amount"] == Decimal("565087.20") and after[key]["adjusted_amount"] == Decimal(
        "607447.20"
    )
    assert after[key]["version_count"] == 2
    changed = {k for k in after if after[k]["adjusted_amount"] != before[k]["adjusted_amount"]}
    source_before, source_after = _source(2024, "硚口区", "2024-07-18"), _source(2024, "硚口区", "2024-07-20")
    expected = {
        (u, p or None, f, e)
        for (u, p, f, e), r in source_after.items()
        if r["adjusted_amount"] != source_before[(u, p, f, e)]["adjusted_amount"]
    }
    assert changed == expected and len(changed) >= 3
    budget = indicators(capsys, "2024", "all")["budget_execution_rate"]["denominator"]
    assert Decimal(budget) == sum(r["adjusted_amount"] for r in after.values())
    assert Decimal(budget) != sum(r["adjusted_amount"] for r in before.values())


def test_2025_adds_a_code_and_retires_one(qiaokou, capsys):
    nightly.backfill([dt.date(2025, 7, 17)])
    mid = lines(2025)
    nightly.backfill([dt.date(2025, 7, 21)])  # after the 18 July adjustment
    rows = lines(2025)
    codes = {(r["function_code"], r["economic_code"]) for r in rows}
    assert ("2080506", "30109") in codes  # 职业年金, new in 2025
    assert not [r for r in rows if r["function_code"] == "2080899"]  # retired after 2024
    assert [r for r in lines(2024) if r["function_code"] == "2080899"]
    assert {r["function_name"] for r in rows if r["function_code"] == "2080506"} == {
        "机关事业单位职业年金缴费支出"
    }
    assert {r["economic_name"] for r in rows if r["economic_code"] == "30109"} == {"职业年金缴费"}
    changed = [a for a, b in zip(rows, mid, strict=True) if a["adjusted_amount"] != b["adjusted_amount"]]
    assert len(changed) >= 3 and all(r["version_count"] == 2 for r in changed)
    annuity = indicators(capsys, "2025", "function:2080506")["budget_execution_rate"]
    assert Decimal(annuity["denominator"]) > 0
    assert indicators(capsys, "2025", "function:2080899") == {}


# ------------------------------------------------------------------------------------------- 江岸区


@contextlib.contextmanager
def _district_home(home, district: str, smtp_port: int):
    """A fresh $MINHU_HOME and a simulator server started with MINHU_DISTRICT=district."""
    from simulators.server import serve_in_thread

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINHU_DISTRICT", district)  # the setting selects the profile of both sides
        server, url = serve_in_thread(0)
        mp.setenv("MINHU_HOME", str(home))
        mp.setenv("MINHU_SOURCE_URL", url)
        mp.setenv("MINHU_SMTP_PORT", str(smtp_port))
        try:
            yield home
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def jiangan(tmp_path_factory, smtp_port):
    with _district_home(tmp_path_factory.mktemp("jiangan") / "home", "江岸区", smtp_port) as home:
        yield home


def test_another_district_by_the_setting(tmp_path, smtp_port, capsys):
    """江汉区 (dept 119) uses codes the warehouse knew already: its own centre end to end today."""
    with _district_home(tmp_path / "home", "江汉区", smtp_port):
        nightly.backfill([dt.date(2024, 7, 9), dt.date(2024, 7, 11)])  # around its 10 July adjustment
        rows = lines(2024)
        assert {(r["dept_code"], r["unit_code"]) for r in rows} == {("119", "119001")}
        source = _source(2024, "江汉区", "2024-07-12")
        got = {
            (r["unit_code"], r["project_code"] or "", r["function_code"], r["economic_code"]): r for r in rows
        }
        assert got.keys() == source.keys()
        for k, r in source.items():
            assert (got[k]["initial_amount"], got[k]["adjusted_amount"]) == (
                Decimal(r["initial_amount"]),
                Decimal(r["adjusted_amount"]),
            ), k
        assert sum(r["version_count"] > 1 for r in rows) == 2  # July; the November cut is not yet known
        projects = {r["project_code"] for r in rows if r["project_code"]}
        assert projects == {f"42010324119T00000010{n}" for n in range(3)}
        cases = warehouse.query("select distinct district from marts.fct_cases")
        assert [c["district"] for c in cases] == ["江汉区"]
        budget = indicators(capsys, "2024", "project:42010324119T000000101")["budget_execution_rate"]
        assert Decimal(budget["denominator"]) == Decimal("2562500.00")


def test_the_second_district_carries_its_own_codes(jiangan, capsys):
    nightly.backfill([dt.date(2024, 8, 20), dt.date(2024, 8, 22)])
    rows = lines(2024)
    assert {(r["dept_code"], r["unit_code"], r["unit_name"]) for r in rows} == {
        ("121", "121001", "江岸区社会管理网格化服务中心本级")
    }
    functions = {(r["function_code"], r["function_name"]) for r in rows}
    assert {
        ("2010301", "行政运行"),
        ("2101101", "行政单位医疗"),
        ("2120199", "其他城乡社区管理事务支出"),
    } <= functions
    economics = {(r["economic_code"], r["economic_name"]) for r in rows}
    assert {
        ("30227", "委托业务费"),
        ("30239", "其他交通费用"),
        ("31007", "信息网络及软件购置更新"),
    } <= economics
    assert not [r for r in rows if r["function_code"] == "2010350"]  # 硚口's 事业运行 is not 江岸's
    assert {r["project_code"] for r in rows if r["project_code"]} == {
        "42010224121T000000100",
        "42010224121T000000101",
    }
    # lines as the source has them the night of 22 August (after the 21 August adjustment)
    source = _source(2024, "江岸区", "2024-08-23")
    got = {(r["unit_code"], r["project_code"] or "", r["function_code"], r["economic_code"]): r for r in rows}
    assert got.keys() == source.keys()
    for k, r in source.items():
        assert (got[k]["initial_amount"], got[k]["adjusted_amount"]) == (
            Decimal(r["initial_amount"]),
            Decimal(r["adjusted_amount"]),
        ), k
    assert sum(got[k]["version_count"] > 1 for k in got) == 4
    project = indicators(capsys, "2024", "function:212")["budget_execution_rate"]
    assert Decimal(project["denominator"]) == sum(
        Decimal(r["adjusted_amount"]) for r in source.values() if r["function_code"].startswith("212")
    )
