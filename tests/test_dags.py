"""The DAGs parse, derive their business date correctly, and `airflow dags test nightly` runs."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from conftest import airflow

from pipeline.dates import business_date_from_context

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.unit
def test_business_date_prefers_conf_then_interval_then_run_after():
    from minhu.calendar import TZ

    run = SimpleNamespace(conf={"business_date": "2024-03-01"}, run_after=None)
    assert business_date_from_context({"dag_run": run}) == date(2024, 3, 1)
    # a scheduled run at 02:00 local on 2024-03-02 covers 2024-03-01
    end = datetime(2024, 3, 2, 2, 0, tzinfo=TZ)
    ctx = {"dag_run": SimpleNamespace(conf={}, run_after=end), "data_interval_end": end}
    assert business_date_from_context(ctx) == date(2024, 3, 1)
    # 18:00 UTC on 2024-03-01 is 02:00 on 2024-03-02 in Shanghai: still 2024-03-01
    utc_end = datetime(2024, 3, 1, 18, 0, tzinfo=__import__("zoneinfo").ZoneInfo("UTC"))
    assert business_date_from_context({"data_interval_end": utc_end}) == date(2024, 3, 1)
    # a manual run has no data interval: the day before run_after
    manual = SimpleNamespace(conf={}, run_after=datetime(2024, 3, 2, 9, 30, tzinfo=TZ))
    assert business_date_from_context({"dag_run": manual, "data_interval_end": None}) == date(2024, 3, 1)
    with pytest.raises(ValueError, match="business_date"):
        business_date_from_context({"dag_run": SimpleNamespace(conf={}, run_after=None)})


def test_dagbag_has_no_import_errors_and_nightly_is_wired(tmp_path, airflow_db):
    airflow_db(tmp_path)
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        "b = DagBag(dag_folder='dags')\n"
        "assert not b.import_errors, b.import_errors\n"
        "d = b.get_dag('nightly')\n"
        "t = d.timetable\n"
        "print(type(t).__name__, t.expression, t.timezone, d.max_active_runs)\n"
        "print(' > '.join(t.task_id for t in d.topological_sort()))\n"
        "from datetime import datetime\nfrom zoneinfo import ZoneInfo\n"
        "from airflow.timetables.interval import CronDataIntervalTimetable as Core\n"
        "i = Core(t.expression, t.timezone).infer_manual_data_interval(\n"
        "    run_after=datetime(2024, 3, 2, 3, 0, tzinfo=ZoneInfo('Asia/Shanghai')))\n"
        "print(i.start.in_timezone('Asia/Shanghai').isoformat(), i.end.in_timezone('Asia/Shanghai').isoformat())\n"
    )
    out = airflow(tmp_path, str(ROOT / ".venv/bin/python"), "-c", code, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert lines[-3] == "CronDataIntervalTimetable 0 2 * * * Asia/Shanghai 1"
    assert lines[-2] == "extract > build_gate_publish > report"
    # a non-empty interval: [02:00 the day before, 02:00) local
    assert lines[-1] == "2024-03-01T02:00:00+08:00 2024-03-02T02:00:00+08:00"


def test_airflow_dags_test_nightly_end_to_end(home, airflow_db):
    airflow_db(home)
    out = airflow(home, "airflow", "dags", "test", "nightly", "-c", '{"business_date": "2024-03-01"}')
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    assert (home / "warehouse.duckdb").exists()
    emls = list((home / "outbox").glob("*.eml"))
    assert len(emls) == 1
    from conftest import read_eml, subject_of

    assert subject_of(read_eml(emls[0])) == "【硚口区网格中心】群众诉求日报 2024年3月1日"
    assert (home / "reports" / "daily" / "2024-03-01").is_dir()


@pytest.mark.unit
def test_month_chunks_cut_a_range_at_month_boundaries():
    from pipeline.dates import month_chunks

    assert month_chunks(date(2024, 1, 30), date(2024, 3, 2)) == [
        (date(2024, 1, 30), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 2)),
    ]
    with pytest.raises(ValueError):
        month_chunks(date(2024, 3, 2), date(2024, 3, 1))


def test_airflow_dags_test_backfill_lands_the_cli_windows_in_group_tasks_then_one_build_gate_publish(
    home, airflow_db
):
    airflow_db(home)
    out = airflow(
        home, "airflow", "dags", "test", "backfill", "-c", '{"start": "2024-02-29", "end": "2024-03-01"}'
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    # the windows of `minhu backfill`: cases and payments a month window each, clipped to the
    # range (here one day each: the nightly's folders), budget lines once for the fiscal year;
    # 5 windows make one group task of 8, then one build_gate_publish
    assert sorted(p.name for p in (home / "raw" / "cases").iterdir()) == ["2024-02-29", "2024-03-01"]
    assert sorted(p.name for p in (home / "raw" / "budget_lines").iterdir()) == ["2024-03-01"]
    assert "starting task_id=extract map_index=0" in log
    assert "starting task_id=extract map_index=1" not in log
    assert "task_id=build_gate_publish" in log
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        batches = [r[0] for r in con.execute("select batch from raw.landings order by 1").fetchall()]
    finally:
        con.close()
    days = ["2024-02-29", "2024-03-01"]
    assert batches == [  # the day batches a nightly run of each date loads
        "api/budget_lines/2024-03-01",
        *(f"api/cases/{d}" for d in days),
        *(f"api/payments/{d}" for d in days),
    ]
    assert not (home / "outbox").exists() or not list(
        (home / "outbox").glob("*.eml")
    )  # backfills send no report
