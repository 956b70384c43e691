"""Any centre, any fiscal year: the classification comes from the data plus reference data.

A made-up but realistic other unit (990101, fiscal year 2025, tests/data/budget_lines_990101_2025.csv)
uses ordinary national codes the 硚口 2024 budget lacks: 206 科学技术支出, 212 城乡社区支出, a 项
2089999 that nothing names, a 款 21208 whose 项 only the line names, 30199, 30226, 30239, 31013,
an economic 款 30999 that nothing names and a 政府预算支出经济分类 code 50201. It is imported
through `minhu import budget-lines`: it must be published, the unnamed codes warned as
"科目 NNN" (never an error), and every total right. The expected totals below are summed by hand
from the seven lines of the file, not by product code:

    line  function  economic  type      fund        initial      adjusted
    1     2060101   30101     人员经费  一般公共预算  300000.00    300000.00
    2     2120101   30199     人员经费  一般公共预算  120000.50    126000.50
    3     2120199   30226     公用经费  一般公共预算   85000.25     85000.25
    4     2089999   30239     公用经费  一般公共预算   12000.00     12000.00
    5     2010302   50201     公用经费  一般公共预算   40000.00     38500.00
    6     2120199   31013     项目支出  一般公共预算  250000.00    250000.00
    7     2120899   30999     项目支出  政府性基金    500000.00    480000.00

Then its published tables (tests/data/published_budget_990101_2025.csv, in 元 and 万元) are
imported with `minhu import published-budget` and checked for that unit and year.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from minhu import warehouse
from pipeline.cli import main

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parent / "data"
LINES = DATA / "budget_lines_990101_2025.csv"
PUBLISHED = DATA / "published_budget_990101_2025.csv"
NAMES_LABEL = (
    "budget.classification_names: every classification code in use has a name (reference seed or the line)"
)
PUBLISHED_LABEL = (
    "budget.published_tables: published tables reproduced (±0.01 万元 a row, 元 exact; any unit and year)"
)

D = Decimal
ADJUSTED_TOTAL = D("1291500.75")  # 300000 + 126000.50 + 85000.25 + 12000 + 38500 + 250000 + 480000
BY_FUNCTION_CLASS = {"201": D("38500.00"), "206": D("300000.00"), "208": D("12000.00"), "212": D("941000.75")}
BY_FUNCTION_SECTION = {
    "20103": D("38500.00"),
    "20601": D("300000.00"),
    "20899": D("12000.00"),
    "21201": D("461000.75"),  # 126000.50 + 85000.25 + 250000
    "21208": D("480000.00"),
}
BY_ECONOMIC_CLASS = {
    "301": D("426000.50"),  # 300000 + 126000.50
    "302": D("97000.25"),  # 85000.25 + 12000
    "309": D("480000.00"),
    "310": D("250000.00"),
    "502": D("38500.00"),
}


def gate(home: Path) -> dict:
    return json.loads((home / "reports" / "quality" / "last_gate.json").read_text(encoding="utf-8"))


def outcome(g: dict, check: str) -> list[dict]:
    return [o for o in g["outcomes"] if o["check"] == check]


@pytest.fixture(scope="module")
def imported(tmp_path_factory, smtp_port):
    """A $MINHU_HOME where the other unit's budget lines were imported (and published)."""
    home = tmp_path_factory.mktemp("classification") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINHU_HOME", str(home))
        mp.setenv("MINHU_SMTP_PORT", str(smtp_port))
        rc = main(["import", "budget-lines", str(LINES)])
    return home, rc


@pytest.fixture
def copy(imported, tmp_path, monkeypatch, smtp_port) -> Path:
    home = tmp_path / "home"
    shutil.copytree(imported[0], home, ignore=shutil.ignore_patterns("*.lock"))
    monkeypatch.setenv("MINHU_HOME", str(home))
    monkeypatch.setenv("MINHU_SMTP_PORT", str(smtp_port))
    return home


@pytest.fixture
def at(imported, monkeypatch):
    monkeypatch.setenv("MINHU_HOME", str(imported[0]))
    return imported[0]


def test_unseen_codes_are_published_and_warned_not_stopped(imported):
    home, rc = imported
    assert rc == 0
    assert (home / "warehouse.duckdb").exists()
    g = gate(home)
    assert g["passed"] and g["failed_errors"] == []
    assert g["failed_warnings"] == [NAMES_LABEL]
    (names,) = outcome(g, "classification_names")
    assert names["severity"] == "warning"
    assert names["listing"] == "科目 30999、科目 2089999、科目 21208"
    # no published tables imported yet: the gate says so (a note, not a warning)
    assert (
        "budget.published_coverage: published tables checked for (unit/year) none; "
        "budget lines without published tables: 990101/2025" in g["notes"]
    )
    # every hierarchy and view check ran and passed
    for check in ("function_hierarchy", "economic_hierarchy", "per_unit", "indicator_views"):
        assert outcome(g, check) and all(o["success"] for o in outcome(g, check)), check


def test_every_total_is_the_sum_of_its_lines_by_code_prefix(at):
    def by(col: str) -> dict:
        rows = warehouse.query(
            f"select {col} as code, sum(adjusted_amount) as amount from marts.fct_budget_lines"
            " where fiscal_year = 2025 and unit_code = '990101' group by 1"
        )
        return {r["code"]: r["amount"] for r in rows}

    assert by("function_class_code") == BY_FUNCTION_CLASS
    assert by("function_section_code") == BY_FUNCTION_SECTION
    assert by("economic_class_code") == BY_ECONOMIC_CLASS
    assert sum(BY_FUNCTION_CLASS.values()) == sum(BY_ECONOMIC_CLASS.values()) == ADJUSTED_TOTAL
    # the indicators carry every level, named or not
    rows = warehouse.query(
        "select scope, denominator from marts.fct_indicators"
        " where indicator = 'budget_execution_rate' and grain = 'year' and period = '2025'"
    )
    budget = {r["scope"]: r["denominator"] for r in rows}
    assert budget["all"] == ADJUSTED_TOTAL
    for code, amount in {**BY_FUNCTION_CLASS, **BY_FUNCTION_SECTION}.items():
        assert budget[f"function:{code}"] == amount, code
    for code, amount in BY_ECONOMIC_CLASS.items():
        assert budget[f"economic:{code}"] == amount, code
    assert budget["function:2089999"] == D("12000.00")
    assert budget["economic:30999"] == D("480000.00")


def test_names_resolve_reference_then_line_then_none(at):
    fn = {r["function_code"]: r for r in warehouse.query("select * from marts.dim_function")}
    ec = {r["economic_code"]: r for r in warehouse.query("select * from marts.dim_economic")}
    assert (fn["206"]["function_name"], fn["206"]["name_source"]) == ("科学技术支出", "reference")
    assert (fn["21201"]["function_name"], fn["21201"]["name_source"]) == ("城乡社区管理事务", "reference")
    assert (fn["2060101"]["function_name"], fn["2060101"]["name_source"]) == ("行政运行", "line")
    assert fn["2120899"]["function_name"] == "其他国有土地使用权出让收入安排的支出"
    for code in ("2089999", "21208"):
        assert (fn[code]["function_name"], fn[code]["name_source"]) == (None, "unnamed"), code
    assert fn["2089999"]["function_section_name"] == "其他社会保障和就业支出"
    assert fn["2089999"]["function_class_name"] == "社会保障和就业支出"
    assert (ec["502"]["economic_name"], ec["502"]["economic_classification"]) == (
        "机关商品和服务支出",
        "政府预算支出经济分类",
    )
    assert ec["50201"]["economic_name"] == "办公经费"
    assert ec["31013"]["is_sangong"] and ec["30239"]["economic_name"] == "其他交通费用"
    assert (ec["30999"]["economic_name"], ec["30999"]["name_source"]) == (None, "unnamed")
    assert ec["30999"]["economic_class_name"] == "资本性支出（基本建设）"


def test_published_tables_of_any_unit_and_year_are_checked(copy, capsys):
    assert main(["import", "published-budget", str(PUBLISHED)]) == 0
    assert "15 rows, 15 loaded, 0 superseded, 0 quarantined" in capsys.readouterr().out
    g = gate(copy)
    assert g["passed"] and g["failed_errors"] == []
    (check,) = outcome(g, "published_tables")
    assert check["success"] and check["rows"] == 15
    assert (
        "budget.published_coverage: published tables checked for (unit/year) 990101/2025; "
        "budget lines without published tables: none" in g["notes"]
    )
    # landed immutably: the bytes as given, the records, the manifest with its accounting
    (landing,) = (copy / "raw" / "imports" / "published_budget").iterdir()
    assert (landing / PUBLISHED.name).read_bytes() == PUBLISHED.read_bytes()
    manifest = json.loads((landing / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["landed_records"], manifest["loaded"], manifest["quarantined"]) == (15, 15, 0)
    # importing it again replaces the unit's year: the same 15 rows, not 30
    assert main(["import", "published-budget", "--format", "json", str(PUBLISHED)]) == 0
    again = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (again["loaded"], again["replaced"], again["units"]) == (15, 0, ["990101/2025"])
    con = duckdb.connect(str(copy / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from raw.published_budget").fetchone()[0] == 15
    con.close()


def _edited(src: Path, dst: Path, old: str, new: str) -> Path:
    text = src.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    dst.write_text(text.replace(old, new), encoding="utf-8")
    return dst


@pytest.mark.parametrize(
    ("old", "new", "passes"),
    [
        # 55.700075 万元 rounds to 55.70: 55.71 is within the 0.01 万元 a published total may differ by
        (",基本支出,一般公共预算,55.70,万元", ",基本支出,一般公共预算,55.71,万元", True),
        (",基本支出,一般公共预算,55.70,万元", ",基本支出,一般公共预算,55.72,万元", False),
        # 元 amounts are exact to the fen
        (",function,201,合计,,40000.00,元", ",function,201,合计,,40000.01,元", False),
    ],
)
def test_published_rounding_tolerance(copy, tmp_path, old, new, passes):
    path = _edited(PUBLISHED, tmp_path / "published.csv", old, new)
    before = (copy / "warehouse.duckdb").read_bytes()
    rc = main(["import", "published-budget", str(path)])
    g = gate(copy)
    if passes:
        assert rc == 0 and g["passed"]
    else:
        assert rc == 1 and g["failed_errors"] == [PUBLISHED_LABEL]
        assert (copy / "warehouse.duckdb").read_bytes() == before, "a failed gate published something"
        (failed,) = [o for o in outcome(g, "published_tables") if not o["success"]]
        assert "990101" in failed["details"]


def test_a_bad_published_file_names_file_row_and_field(copy, tmp_path, capsys):
    bad_row = _edited(PUBLISHED, tmp_path / "bad_row.csv", ",function,206,合计,", ",function,20,合计,")
    assert main(["import", "published-budget", str(bad_row)]) == 0
    assert "15 rows, 14 loaded, 0 superseded, 1 quarantined" in capsys.readouterr().out
    (quarantine,) = (copy / "quarantine" / "published_budget").glob("*.csv")
    text = quarantine.read_text(encoding="utf-8-sig")
    assert "bad_row.csv,6,code,\"a function code has 3, 5 or 7 digits, got '20'\"" in text

    no_unit = tmp_path / "no_unit.csv"
    no_unit.write_text(
        PUBLISHED.read_text(encoding="utf-8").replace(",amount,amount_unit\n", ",amount,unit\n"),
        encoding="utf-8",
    )
    assert main(["import", "published-budget", str(no_unit)]) == 1
    err = capsys.readouterr().err
    assert (
        f"minhu: {no_unit}: missing required column(s) for a published budget: amount_unit (金额单位)" in err
    )


def test_published_tables_without_budget_lines_are_named_not_failed(copy):
    # 硚口 2024 tables in a warehouse that has no 118001 line: nothing to compare, and the note says so
    assert main(["import", "published-budget", str(DATA / "published_budget_118001_2024.csv")]) == 0
    g = gate(copy)
    assert g["passed"] and g["failed_errors"] == []
    (check,) = outcome(g, "published_tables")
    assert check["success"] and check["rows"] == 0
    assert (
        "budget.published_coverage: published tables checked for (unit/year) none; "
        "budget lines without published tables: 990101/2025; "
        "published tables without budget lines: 118001/2024" in g["notes"]
    )
