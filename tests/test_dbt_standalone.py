"""The dbt project runs on its own: dbt + DuckDB, without the product package.

`cd dbt_project && dbt parse` and `dbt build` run in a child whose Python cannot import any
package of this repository (stand-ins for minhu, pipeline, extract, … that raise on import come
first on its PYTHONPATH, ahead of the editable install), on a warehouse whose raw schema this
test loads from the simulators. The seeds that replaced the product package's constants are
checked against their sources: the calendar against the chinese-calendar package itself, the
value sets and time limits against sources.md, written out here (minhu.schemas reads the seeds).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import duckdb
import pytest
from chinese_calendar.constants import Holiday
from chinese_calendar.constants import holidays as cc_holidays

from extract.load import load_batch
from minhu import schemas, warehouse
from pipeline.transform import dbt_executable
from simulators import case_data
from simulators import finance_data as fd

pytestmark = pytest.mark.dbt

REPO = Path(__file__).resolve().parents[1]
PROJECT = REPO / "dbt_project"
SEEDS = PROJECT / "seeds"
PRODUCT_PACKAGES = ("minhu", "pipeline", "extract", "expectations", "reports", "simulators", "dags")
DISTRICT = "硚口区"
CASE_DAYS = [date(2024, 2, 1), date(2024, 2, 2)]
PAY_DAYS = [date(2024, 1, 10), date(2024, 2, 2)]
LATE_UPDATE = "2027-01-05T10:00:00+08:00"


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def raw_warehouse(tmp_path_factory) -> Path:
    """A warehouse with only the raw schema: two days of cases, the 2024 budget lines, two days of payments."""
    root = tmp_path_factory.mktemp("dbt_standalone")
    wh = root / "warehouse.duckdb"
    batches = [("cases", f"api/cases/{d}", case_data.case_versions(DISTRICT, d)) for d in CASE_DAYS]
    # one more version of a case, updated in a year the calendar seed does not cover: dim_calendar
    # must then reach 2027 with the weekday fallback
    late = dict(batches[0][2][0], updated_at=LATE_UPDATE)
    batches.append(("cases", "api/cases/late", [late]))
    batches.append(("budget_lines", "api/budget_lines/2024", fd.budget_lines(2024, DISTRICT)))
    batches += [("payments", f"api/payments/{d}", fd.payments(d, DISTRICT)) for d in PAY_DAYS]
    con = warehouse.connect(wh)
    try:
        for i, (source, batch, rows) in enumerate(batches):
            path = _jsonl(root / f"{i}.jsonl", rows)
            load_batch(
                con,
                source,
                batch,
                path,
                kind="api",
                checksum=hashlib.sha256(path.read_bytes()).hexdigest(),
                landed_count=len(rows),
                source_count=len(rows),
            )
    finally:
        con.close()
    return wh


@pytest.fixture(scope="module")
def standalone_env(tmp_path_factory, raw_warehouse) -> dict:
    """The environment of a machine with dbt and DuckDB but without this repository's packages."""
    root = tmp_path_factory.mktemp("no_product")
    shadow = root / "shadow"
    for name in PRODUCT_PACKAGES:
        (shadow / name).mkdir(parents=True)
        (shadow / name / "__init__.py").write_text(
            f"raise ImportError('the dbt project imported {name}, a package of the product')\n"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MINHU_", "DBT_", "PYTHON"))}
    env.update(
        PYTHONPATH=str(shadow),
        MINHU_WAREHOUSE_PATH=str(raw_warehouse),
        DBT_TARGET_PATH=str(root / "target"),
        DBT_LOG_PATH=str(root / "logs"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def _run(cmd: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=1200)


def test_the_child_cannot_import_the_product(standalone_env):
    for name in PRODUCT_PACKAGES:
        proc = _run([sys.executable, "-c", f"import {name}"], standalone_env)
        assert proc.returncode != 0 and "a package of the product" in proc.stderr, name


def test_dbt_parse_and_build_run_in_the_project_folder_alone(standalone_env, raw_warehouse):
    parsed = _run([dbt_executable(), "parse"], standalone_env)
    assert parsed.returncode == 0, parsed.stdout[-3000:] + parsed.stderr[-2000:]
    built = _run([dbt_executable(), "build"], standalone_env)
    assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-2000:]
    summary = next(line for line in reversed(built.stdout.splitlines()) if "TOTAL=" in line)
    assert "ERROR=0" in summary and "PASS=" in summary, summary
    con = duckdb.connect(str(raw_warehouse), read_only=True)
    try:
        n_cases = con.execute("select count(*) from marts.fct_cases").fetchone()[0]
        grains = {r[0] for r in con.execute("select distinct grain from marts.fct_indicators").fetchall()}
        days = {
            r[0]: r[1:]
            for r in con.execute(
                "select date_day, is_working_day, is_holiday, holiday_name, calendar_source from marts.dim_calendar"
            ).fetchall()
        }
    finally:
        con.close()
    received = {r["case_id"] for d in CASE_DAYS for r in case_data.case_versions(DISTRICT, d)}
    assert n_cases == len(received)
    assert grains == {"day", "week", "month", "year"}
    # 2020 (the floor) to 2027 (the late update), every day once
    assert min(days) == date(2020, 1, 1) and max(days) == date(2027, 12, 31)
    assert len(days) == (date(2028, 1, 1) - date(2020, 1, 1)).days
    assert days[date(2024, 2, 4)] == (True, False, "春节", "chinese_calendar")  # a 调休 Sunday
    assert days[date(2026, 10, 1)] == (False, True, "国庆节", "chinese_calendar")
    fallback = {d: v for d, v in days.items() if d.year == 2027}
    assert {v[3] for v in fallback.values()} == {"weekday_fallback"}
    assert all(v[:3] == (d.weekday() < 5, False, None) for d, v in fallback.items())  # 2027-01-01 too


# ------------------------------------------------------------------ the seeds, against their sources


def _seed(name: str) -> list[dict]:
    with (SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_the_calendar_seed_is_the_chinese_calendar_package():
    zh = {h.value: h.chinese for h in Holiday}
    first, last = min(cc_holidays).year, max(cc_holidays).year
    expected = []
    d = date(first, 1, 1)
    while d.year <= last:
        working = chinese_calendar.is_workday(d)
        _, name = chinese_calendar.get_holiday_detail(d)
        if name is not None or working != (d.weekday() < 5):
            expected.append((d.isoformat(), str(working).lower(), zh.get(name, name) if name else ""))
        d += timedelta(days=1)
    got = [(r["date_day"], r["is_working_day"], r["holiday_name"]) for r in _seed("calendar_days")]
    assert got == expected
    assert got[0][0].startswith(str(first)) and got[-1][0].startswith(str(last))


# The value sets of ../shared/spec/sources.md, written out from its text (not read from the
# seed or from minhu.schemas, which reads the seed): the seed is their one home in the product.
SPEC_VALUE_SETS = {
    "channel": ["12345热线", "城市留言板", "区委书记留言板", "媒体曝光", "网上投诉", "12319数字城管", "上级转办", "领导批示"],
    "case_type": ["咨询", "求助", "投诉", "举报", "建议", "表扬"],
    "status": ["已受理", "已派单", "办理中", "已办结", "已回访", "不予受理"],
    "satisfaction": ["满意", "基本满意", "不满意", "未接通"],
    "expense_type": ["人员经费", "公用经费", "项目支出"],
    "fund_source": ["一般公共预算", "政府性基金预算", "国有资本经营预算", "财政专户管理资金", "单位资金"],
}  # fmt: skip


def test_the_value_sets_are_the_source_contract():
    got = defaultdict(list)
    for r in sorted(_seed("value_sets"), key=lambda r: (r["field"], int(r["sort_order"]))):
        got[r["field"]].append(r["value"])
    assert dict(got) == SPEC_VALUE_SETS
    enums = {
        f.key: list(f.values)
        for fields in (schemas.CASE_FIELDS, schemas.BUDGET_LINE_FIELDS, schemas.PAYMENT_FIELDS)
        for f in fields
        if f.type == "enum"
    }
    assert enums == SPEC_VALUE_SETS  # each enum field of the contract carries its set
    groups = {r["channel"]: r["channel_group"] for r in _seed("channel_groups")}
    assert set(groups) == set(SPEC_VALUE_SETS["channel"])
    limits = {r["case_type"]: int(r["time_limit_working_days"]) for r in _seed("case_time_limits")}
    assert limits == {"咨询": 3, "求助": 5, "建议": 5, "表扬": 5, "投诉": 10, "举报": 10}  # sources.md §1
    assert {int(r["business_env_time_limit_working_days"]) for r in _seed("case_time_limits")} == {5}
