"""Data Docs: what a gate run leaves under $MINHU_HOME/reports/quality/ and in the warehouse."""

from __future__ import annotations

import json
import shutil
from datetime import date

import duckdb
import pytest
from conftest import PUBLISHED_DAY, copy_home

from pipeline import nightly, quality

pytestmark = pytest.mark.e2e

DAY = date(2024, 3, 1)


@pytest.fixture(scope="module")
def published(published_day):
    """One good night (the session's DAY), published, with its quality record; read only here
    (the record names its own paths, so a copy would not match them)."""
    assert DAY == PUBLISHED_DAY
    return published_day


def test_a_passing_run_leaves_its_record_and_docs(published):
    q = published / "reports" / "quality"
    gate = json.loads((q / "last_gate.json").read_text(encoding="utf-8"))
    assert gate["passed"] is True and gate["target"] == "build"
    assert (
        gate["expectations"] == len(gate["outcomes"]) == gate["succeeded"] + gate["errors"] + gate["warnings"]
    )
    assert gate["errors"] == 0 and gate["failed_errors"] == []
    suites = {o["suite"] for o in gate["outcomes"]}
    assert suites == {"raw_landing", "cases", "budget", "indicators"}
    assert all(o["severity"] in ("error", "warning") for o in gate["outcomes"])
    assert gate["docs"]["index"] == str(q / "index.html")

    index = (q / "index.html").read_text(encoding="utf-8")
    assert "数据质量门禁：通过" in index
    assert 'href="gx/index.html"' in index and 'href="dbt/index.html"' in index
    assert index.count("<tr>") == gate["expectations"] + 1

    # GX rendered the validation results: a page per check, listed in the site's index
    gx_index = (q / "gx" / "index.html").read_text(encoding="utf-8")
    checks = {f"{o['suite']}.{o['check']}" for o in gate["outcomes"]}
    assert all(name in gx_index for name in checks)
    pages = list((q / "gx" / "validations").rglob("*.html"))
    assert len(pages) == len(checks)

    # dbt docs beside them: a self-contained page with the project's models and their columns
    dbt_index = (q / "dbt" / "index.html").read_text(encoding="utf-8")
    assert "model.minhu.fct_cases" in dbt_index
    catalog = json.loads((q / "dbt" / "catalog.json").read_text(encoding="utf-8"))
    assert "received_at" in {c.lower() for c in catalog["nodes"]["model.minhu.fct_cases"]["columns"]}

    # the published warehouse carries the audit that admitted it
    con = duckdb.connect(str(published / "warehouse.duckdb"), read_only=True)
    row = con.execute(
        "select passed, expectations, passed_expectations, errors, warnings, docs_index, dbt_docs"
        " from audit.gate_runs order by checked_at desc limit 1"
    ).fetchone()
    con.close()
    assert row == (
        True,
        gate["expectations"],
        gate["succeeded"],
        0,
        gate["warnings"],
        str(q / "index.html"),
        str(q / "dbt" / "index.html"),
    )


def test_dbt_docs_are_regenerated_only_when_the_project_changes(published_day, tmp_path, monkeypatch):
    published = copy_home(published_day, tmp_path / "home")  # this test writes the stamp
    monkeypatch.setenv("MINHU_HOME", str(published))
    stamp = published / "reports" / "quality" / "dbt" / "fingerprint"
    assert stamp.read_text() == quality._fingerprint()
    assert nightly.data_docs(published / "warehouse.duckdb") == {
        "dbt_docs": str(published / "reports" / "quality" / "dbt" / "index.html"),
        "generated": False,
    }
    stamp.write_text("another project")  # as if the dbt project had changed since
    calls = []
    monkeypatch.setattr(quality, "dbt", lambda args, path: calls.append((args, path)))
    out = nightly.data_docs(published / "warehouse.duckdb")
    assert out["generated"] is True
    assert calls == [(["docs", "generate", "--static"], published / "warehouse.duckdb")]
    assert stamp.read_text() == quality._fingerprint()


def test_a_failing_gate_renders_its_failures_and_records_nothing_in_the_warehouse(
    published, tmp_path, monkeypatch
):
    home = copy_home(published, tmp_path / "home")
    monkeypatch.setenv("MINHU_HOME", str(home))
    build = home / "build" / "warehouse.duckdb"
    build.parent.mkdir(exist_ok=True)
    shutil.copyfile(home / "warehouse.duckdb", build)
    con = duckdb.connect(str(build))
    con.execute(
        "update marts.fct_cases set dispatched_at = received_at - interval 2 hour"
        " where case_id = (select min(case_id) from marts.fct_cases where dispatched_at is not null)"
    )
    runs_before = con.execute("select count(*) from audit.gate_runs").fetchone()[0]
    con.close()

    with pytest.raises(nightly.GateFailed):
        nightly.gate(build, alert=False)

    q = home / "reports" / "quality"
    gate = json.loads((q / "last_gate.json").read_text(encoding="utf-8"))
    label = "cases.timestamps_in_order: timestamps in order (received ≤ dispatched ≤ closed ≤ visited): received ≤ dispatched"
    assert gate["passed"] is False and label in gate["failed_errors"]
    index = (q / "index.html").read_text(encoding="utf-8")
    assert "未通过（数据未发布）" in index and "received ≤ dispatched" in index
    page = next((q / "gx" / "validations" / "cases" / "timestamps_in_order").rglob("*.html")).read_text(
        encoding="utf-8"
    )
    assert "Failed" in page or "failed" in page
    con = duckdb.connect(str(build), read_only=True)
    assert con.execute("select count(*) from audit.gate_runs").fetchone()[0] == runs_before
    con.close()
