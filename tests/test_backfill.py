"""Backfill in month windows, in parallel, resumable (issue 10), against the real simulators.

The range crosses a month boundary, so it has two case windows and two payment windows of two
days each (loaded as the day batches of their dates) and one fiscal-year budget window. The
reference is a clean `minhu backfill`; every other way of reaching the same range (twice, after
a crash, around and overlapping nightly runs, under source faults) must give the same marts: row
counts and a hash of every business column of every mart, and fct_indicators row by row.
Lineage columns (_batch, _row, _loaded_at, ...) are left out: they say which landing a version
came from, which is what differs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
START, END = date(2024, 2, 28), date(2024, 3, 2)
DATES = [START + timedelta(days=i) for i in range((END - START).days + 1)]
RANGE = ["backfill", "--start", START.isoformat(), "--end", END.isoformat()]


def marts_fingerprint(path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
            # fct_load_runs is the log of load runs (which run loaded which batch, when), not data:
            # a nightly run of a date inside the range loads one more budget-line batch
            if r[0] != "fct_load_runs"
        ]
        out = {}
        for t in tables:
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [t],
                ).fetchall()
                if not r[0].startswith("_")  # _…: load bookkeeping
            ]
            quoted = ", ".join(f'"{c}"' for c in cols)
            out[t] = con.execute(f"select count(*), sum(hash({quoted})) from marts.{t}").fetchone()
        out["fct_indicators rows"] = con.execute("select * from marts.fct_indicators order by all").fetchall()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def clean(tmp_path_factory, sources_url, smtp_port):
    """A clean backfill of the range through `minhu backfill` (gate included)."""
    from pipeline.cli import main

    home = tmp_path_factory.mktemp("clean") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINHU_HOME", str(home))
        mp.setenv("MINHU_SOURCE_URL", sources_url)
        mp.setenv("MINHU_SMTP_PORT", str(smtp_port))
        assert main(RANGE) == 0
    return {"home": home, "marts": marts_fingerprint(home / "warehouse.duckdb")}


@pytest.mark.unit
def test_plan_cuts_cases_and_payments_by_month_and_budget_lines_by_fiscal_year():
    from extract.backfill import Span, plan, plan_range

    spans = plan_range(date(2023, 12, 15), date(2024, 2, 10))
    assert [s for s in spans if s.source == "budget_lines"] == [
        Span("budget_lines", date(2023, 12, 15), date(2023, 12, 31)),
        Span("budget_lines", date(2024, 1, 1), date(2024, 2, 10)),
    ]
    assert [(s.first, s.last) for s in spans if s.source == "cases"] == [
        (date(2023, 12, 15), date(2023, 12, 31)),
        (date(2024, 1, 1), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 10)),
    ]
    assert [(s.first, s.last) for s in spans if s.source == "payments"] == [
        (s.first, s.last) for s in spans if s.source == "cases"
    ]
    w = Span("cases", date(2024, 2, 1), date(2024, 2, 29)).window("硚口区")
    assert w.params() == {
        "updated_since": "2024-02-01T00:00:00+08:00",
        "updated_until": "2024-03-01T00:00:00+08:00",
        "district": "硚口区",
    }
    budget = Span("budget_lines", date(2024, 1, 1), date(2024, 2, 10)).window()
    assert budget.params() == {  # the year-to-date read of the year's last date, as a nightly run makes
        "updated_since": "2024-01-01T00:00:00+08:00",
        "updated_until": "2024-02-11T00:00:00+08:00",
        "fiscal_year": "2024",
    }
    # any set of dates: runs of consecutive dates inside a month, one budget window a year
    scattered = plan([date(2022, 8, 1), date(2024, 7, 17), date(2024, 7, 18), date(2024, 7, 20)])
    assert [(s.source, s.first, s.last) for s in scattered] == [
        ("budget_lines", date(2022, 8, 1), date(2022, 8, 1)),
        ("budget_lines", date(2024, 7, 17), date(2024, 7, 20)),
        ("cases", date(2022, 8, 1), date(2022, 8, 1)),
        ("payments", date(2022, 8, 1), date(2022, 8, 1)),
        ("cases", date(2024, 7, 17), date(2024, 7, 18)),
        ("payments", date(2024, 7, 17), date(2024, 7, 18)),
        ("cases", date(2024, 7, 20), date(2024, 7, 20)),
        ("payments", date(2024, 7, 20), date(2024, 7, 20)),
    ]
    with pytest.raises(ValueError):
        plan_range(date(2024, 2, 2), date(2024, 2, 1))


@pytest.mark.unit
def test_airflow_groups_are_the_cli_windows_eight_a_task():
    from extract.backfill import Span, plan_range
    from pipeline.backfill import groups

    got = groups(date(2024, 1, 1), date(2024, 6, 30))
    assert [len(g) for g in got] == [8, 5]  # 1 budget window + 6 months × (cases, payments)
    assert [Span.from_json(s) for g in got for s in g] == plan_range(date(2024, 1, 1), date(2024, 6, 30))


@pytest.mark.unit
def test_workers_come_from_the_argument_then_the_environment(monkeypatch):
    from extract.backfill import workers_setting

    monkeypatch.delenv("MINHU_BACKFILL_WORKERS", raising=False)
    assert workers_setting() == 4
    monkeypatch.setenv("MINHU_BACKFILL_WORKERS", "2")
    assert workers_setting() == 2
    assert workers_setting(7) == 7
    monkeypatch.setenv("MINHU_BACKFILL_WORKERS", "many")
    with pytest.raises(ValueError, match="MINHU_BACKFILL_WORKERS"):
        workers_setting()
    with pytest.raises(ValueError):
        workers_setting(0)


@pytest.mark.unit
def test_bad_workers_are_one_line_and_exit_2(home, capsys):
    from pipeline.cli import main

    assert main([*RANGE, "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("minhu: --workers") and len(err.strip().splitlines()) == 1


def test_a_backfill_loads_what_the_source_counts_day_by_day(clean, sources_url, monkeypatch):
    """Independent source: the simulator's /count of every *day* window of the range."""
    from extract.api import Client
    from extract.land import day_window

    monkeypatch.setenv("MINHU_HOME", str(clean["home"]))
    client = Client(base_url=sources_url)
    con = duckdb.connect(str(clean["home"] / "warehouse.duckdb"), read_only=True)
    try:
        for source in ("cases", "payments"):
            for d in DATES:  # each date is its own batch, as a nightly run of it loads
                expected = client.count(day_window(source, d, "硚口区"))
                got = con.execute(
                    f"select count(*) from raw.{source} where _batch = ?", [f"api/{source}/{d}"]
                ).fetchone()[0]
                assert got == expected, (source, d)
        lines = client.count(day_window("budget_lines", END))
        assert con.execute("select count(*) from raw.budget_lines").fetchone()[0] == lines > 0
        assert con.execute(
            "select batch, business_date, landed_count = loaded_rows from raw.landings where source = 'cases'"
            " order by 1"
        ).fetchall() == [(f"api/cases/{d}", d, True) for d in DATES]
        assert con.execute("select batch from raw.landings where source = 'budget_lines'").fetchall() == [
            (f"api/budget_lines/{END}",)
        ]  # budget lines once for the fiscal year, not once a day
    finally:
        con.close()
    folders = sorted(p.name for p in (clean["home"] / "raw" / "cases").iterdir())
    assert folders == ["2024-02-28..2024-02-29", "2024-03-01..2024-03-02"]  # one landing a month window
    from reports.common import covered_dates

    assert set(DATES) <= covered_dates()  # every date of a month landing is covered for the reports


def test_a_crashed_backfill_resumes_skipping_landed_windows_and_a_rerun_skips_all(
    clean, home, monkeypatch, capsys, caplog
):
    import extract.backfill as bf
    from pipeline.cli import main

    real_land, calls = bf.land, []

    def crash_on_the_third_window(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the backfill
        return real_land(*args, **kwargs)

    monkeypatch.setattr(bf, "land", crash_on_the_third_window)
    assert main([*RANGE, "--workers", "1"]) == 130
    monkeypatch.setattr(bf, "land", real_land)
    assert not (home / "warehouse.duckdb").exists()  # nothing published by an interrupted backfill
    assert "minhu: interrupted" in capsys.readouterr().err
    landed = len([p for p in (home / "raw").glob("*/*/*/manifest.json") if not p.parent.name.startswith(".")])
    assert landed == 2  # one worker: the two windows before the interrupted one
    assert not list((home / "raw").glob("*/*/.landing*"))

    caplog.clear()
    caplog.set_level(logging.INFO, logger="minhu.progress")
    assert main(RANGE) == 0
    assert "backfill: 5 windows, skipped 2 already landed" in capsys.readouterr().err
    windows = [r.getMessage() for r in caplog.records if r.getMessage().startswith("backfill windows")]
    assert len(windows) == 5 and sum("skipped, already landed" in w for w in windows) == 2
    assert windows[-1].startswith("backfill windows 5/5 ") and "records/s" in windows[-1]
    nodes = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dbt build ")]
    assert nodes and nodes[0].startswith("dbt build 1/")  # dbt's nodes, too, each by its name
    assert all(m.split()[3].rstrip(":").strip(".") for m in nodes), nodes[:3]
    assert marts_fingerprint(home / "warehouse.duckdb") == clean["marts"]

    assert main(RANGE) == 0  # backfill twice: every window skipped, the same warehouse
    assert "backfill: 5 windows, skipped 5 already landed" in capsys.readouterr().err
    assert marts_fingerprint(home / "warehouse.duckdb") == clean["marts"]


def test_nightly_runs_overlapping_and_after_a_backfill_leave_the_same_warehouse(clean, home):
    """A nightly run of a date of the range started with the backfill (two real processes: the
    lease orders them), then a nightly run of the range's last date: the marts of a clean backfill."""
    from pipeline import nightly

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "pipeline.cli"]
    night = subprocess.Popen([*cli, "run", "--date", DATES[1].isoformat(), "--no-report"], env=env, cwd=ROOT)
    back = subprocess.run([*cli, *RANGE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert night.wait(timeout=1800) == 0
    assert back.returncode == 0, back.stderr[-3000:]
    assert marts_fingerprint(home / "warehouse.duckdb") == clean["marts"]
    nightly.run(DATES[-1], send_report=False)
    assert marts_fingerprint(home / "warehouse.duckdb") == clean["marts"]


@pytest.mark.fault
def test_parallel_windows_reconcile_under_every_fault(clean, home, monkeypatch):
    from extract.api import Client
    from pipeline import backfill as pb
    from pipeline import nightly
    from simulators.faults import FaultPlan
    from simulators.server import serve_in_thread

    plan = FaultPlan.parse("429:0.05,503:0.05,500:0.03,reset:0.03,truncate:0.03,repeat:0.1,drop:0.05,seed:5")
    server, url = serve_in_thread(0, faults=plan)
    monkeypatch.setenv("MINHU_SOURCE_URL", url)
    try:

        def client():
            return Client(base_url=url, timeout=20, backoff=0.05, max_retry_after=0.2, max_attempts=12)

        result = pb.extract(pb.bf.plan(DATES), workers=4, limit=300, client_factory=client)
    finally:
        server.shutdown()
    assert {"repeat", "reset", "truncate"} <= set(plan.injected), plan.injected
    assert sum(plan.injected.values()) >= 5
    nightly.build_gate_publish(DATES, "backfill", step=pb.build_step(result.manifests, DATES))
    assert marts_fingerprint(home / "warehouse.duckdb") == clean["marts"]
