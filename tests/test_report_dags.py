"""The report DAGs: each run derives its period, the 周报/月报 are due when their period's last
day is published and their hour has come, the DAGs parse and are wired, `airflow dags test
report_daily` sends the 日报 once (the nightly run having sent nothing), and an asset event
from `nightly` triggers report_weekly under a real scheduler."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from conftest import airflow, free_port

from minhu.calendar import TZ
from pipeline.dates import previous_report_period, report_period_from_context
from pipeline.report_dags import report_due

pytestmark = pytest.mark.airflow

ROOT = Path(__file__).resolve().parents[1]
UTC = ZoneInfo("UTC")


def run(conf=None, run_after=None):
    return SimpleNamespace(conf=conf or {}, run_after=run_after)


@pytest.mark.unit
def test_scheduled_runs_cover_the_previous_day_week_and_month():
    # report_daily at 08:00 on 2024-03-02 → 2024-03-01
    end = datetime(2024, 3, 2, 8, 0, tzinfo=TZ)
    assert (
        report_period_from_context("daily", {"dag_run": run(run_after=end), "data_interval_end": end})
        == "2024-03-01"
    )
    # report_weekly on Monday 2024-03-11 09:00 → the ISO week 2024-03-04..10
    end = datetime(2024, 3, 11, 9, 0, tzinfo=TZ)
    assert report_period_from_context("weekly", {"data_interval_end": end}) == "2024-W10"
    # report_monthly on 2024-04-01 09:00 → March; on 2024-01-01 → December of the year before
    assert (
        report_period_from_context("monthly", {"data_interval_end": datetime(2024, 4, 1, 9, tzinfo=TZ)})
        == "2024-03"
    )
    assert (
        report_period_from_context("monthly", {"data_interval_end": datetime(2024, 1, 1, 9, tzinfo=TZ)})
        == "2023-12"
    )


@pytest.mark.unit
def test_periods_are_taken_in_shanghai_time_across_year_and_iso_week_boundaries():
    # 01:00 UTC on Monday 2021-01-04 is 09:00 in Shanghai: the previous ISO week is 2020-W53
    assert previous_report_period("weekly", datetime(2021, 1, 4, 1, 0, tzinfo=UTC)) == "2020-W53"
    # 23:30 UTC on 2024-02-29 is already 2024-03-01 07:30 in Shanghai
    assert previous_report_period("daily", datetime(2024, 2, 29, 23, 30, tzinfo=UTC)) == "2024-02-29"
    assert previous_report_period("monthly", datetime(2024, 2, 29, 23, 30, tzinfo=UTC)) == "2024-02"
    # 2025-W01 starts on 2024-12-30: a run on Monday 2025-01-06 covers it
    assert previous_report_period("weekly", datetime(2025, 1, 6, 9, tzinfo=TZ)) == "2025-W01"
    with pytest.raises(ValueError, match="offset"):
        previous_report_period("daily", datetime(2024, 3, 2, 8))


@pytest.mark.unit
def test_conf_period_wins_and_manual_runs_use_run_after():
    ctx = {
        "dag_run": run(conf={"period": "2024-W09"}),
        "data_interval_end": datetime(2024, 3, 11, 9, tzinfo=TZ),
    }
    assert report_period_from_context("weekly", ctx) == "2024-W09"
    assert report_period_from_context("daily", {"params": {"period": "2024-02-29"}}) == "2024-02-29"
    # a manual run has no data interval: the period before run_after
    manual = {"dag_run": run(run_after=datetime(2024, 4, 15, 10, tzinfo=TZ)), "data_interval_end": None}
    assert report_period_from_context("monthly", manual) == "2024-03"
    assert report_period_from_context("weekly", manual) == "2024-W15"
    assert report_period_from_context("daily", manual) == "2024-04-14"
    with pytest.raises(ValueError, match="not a weekly period"):
        report_period_from_context("weekly", {"dag_run": run(conf={"period": "2024-03"})})
    with pytest.raises(ValueError, match="period"):
        report_period_from_context("daily", {"dag_run": run()})
    with pytest.raises(ValueError, match="unknown report kind"):
        report_period_from_context("yearly", {"dag_run": run()})


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def at(y, m, d, hh=0, mm=0, ss=0, tz=TZ) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=tz)


@pytest.mark.unit
def test_weekly_is_due_when_sunday_is_published_and_monday_0900_has_come():
    # ISO week 2024-W10 is Mon 2024-03-04 .. Sun 2024-03-10
    through_sunday = days(date(2024, 3, 1), date(2024, 3, 10))
    # Sunday published at Monday 02:10: not yet (the hour has not come)
    assert report_due("weekly", at(2024, 3, 11, 2, 10), through_sunday)[0] is None
    assert report_due("weekly", at(2024, 3, 11, 8, 59, 59), through_sunday)[0] is None
    # the 09:00 run finds Sunday published: send
    period, reason = report_due("weekly", at(2024, 3, 11, 9, 0), through_sunday)
    assert period == "2024-W10" and "2024-03-10 is published" in reason
    # at 09:00 Sunday is not published yet (a late night): wait, no send; at 10:30 it is: send
    through_saturday = through_sunday[:-1]
    period, reason = report_due("weekly", at(2024, 3, 11, 9, 0), through_saturday)
    assert period is None and "2024-03-10 is not published" in reason
    assert report_due("weekly", at(2024, 3, 11, 10, 30), through_sunday)[0] == "2024-W10"
    # published on Tuesday night still means the previous week
    assert report_due("weekly", at(2024, 3, 12, 2, 10), through_sunday)[0] == "2024-W10"
    # only Sunday matters: a week with an unpublished Wednesday is the report's own check
    assert report_due("weekly", at(2024, 3, 11, 9), [date(2024, 3, 10)])[0] == "2024-W10"


@pytest.mark.unit
def test_weekly_across_iso_year_boundaries_and_in_utc():
    # 2020 has 53 ISO weeks: W53 ends Sunday 2021-01-03
    assert report_due("weekly", at(2021, 1, 4, 9), [date(2021, 1, 3)])[0] == "2020-W53"
    # 2025-W01 is Mon 2024-12-30 .. Sun 2025-01-05
    assert report_due("weekly", at(2025, 1, 6, 9), [date(2025, 1, 5)])[0] == "2025-W01"
    assert report_due("weekly", at(2025, 1, 6, 9), [date(2024, 12, 29)])[0] is None
    assert report_due("weekly", at(2024, 12, 30, 9), [date(2024, 12, 29)])[0] == "2024-W52"
    # 01:00 UTC on Monday is 09:00 in Shanghai; 00:59:59 UTC is not yet
    assert report_due("weekly", at(2021, 1, 4, 1, 0, tz=UTC), [date(2021, 1, 3)])[0] == "2020-W53"
    assert report_due("weekly", at(2021, 1, 4, 0, 59, 59, tz=UTC), [date(2021, 1, 3)])[0] is None


@pytest.mark.unit
def test_monthly_is_due_when_the_last_day_is_published_and_the_1st_0900_has_come():
    # 12-31 published on 01-01 02:10: wait; 09:00: the December 月报 of the year before
    december = days(date(2024, 12, 1), date(2024, 12, 31))
    assert report_due("monthly", at(2025, 1, 1, 2, 10), december)[0] is None
    assert report_due("monthly", at(2025, 1, 1, 9), december)[0] == "2024-12"
    assert report_due("monthly", at(2025, 1, 1, 9), december[:-1])[0] is None
    # 2024-12-31 23:59 UTC is 07:59 on 01-01 in Shanghai: not yet; 01:00 UTC is 09:00
    assert report_due("monthly", at(2024, 12, 31, 23, 59, tz=UTC), december)[0] is None
    assert report_due("monthly", at(2025, 1, 1, 1, 0, tz=UTC), december)[0] == "2024-12"
    # a leap February ends on the 29th, the 28th is not enough
    assert report_due("monthly", at(2024, 3, 1, 9), [date(2024, 2, 29)])[0] == "2024-02"
    assert report_due("monthly", at(2024, 3, 1, 9), [date(2024, 2, 28)])[0] is None
    assert report_due("monthly", at(2023, 3, 1, 9), [date(2023, 2, 28)])[0] == "2023-02"
    # a month that ends on a Sunday makes both due on Monday the 1st
    assert report_due("monthly", at(2024, 4, 1, 9), [date(2024, 3, 31)])[0] == "2024-03"
    assert report_due("weekly", at(2024, 4, 1, 9), [date(2024, 3, 31)])[0] == "2024-W13"
    # mid-month runs still look at the month before
    assert report_due("monthly", at(2024, 4, 17, 3), [date(2024, 3, 31)])[0] == "2024-03"
    with pytest.raises(ValueError, match="offset"):
        report_due("monthly", datetime(2024, 4, 1, 9), [])
    with pytest.raises(ValueError, match="weekly and monthly"):
        report_due("daily", at(2024, 4, 1, 9), [])


def check_report_dags_parse_and_are_wired(home: Path) -> None:
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        "b = DagBag(dag_folder='dags')\n"
        "assert not b.import_errors, b.import_errors\n"
        "for name in ('report_daily', 'report_weekly', 'report_monthly'):\n"
        "    d = b.get_dag(name)\n"
        "    t = d.timetable\n"
        "    cron = getattr(t, 'timetable', t)\n"
        "    cond = getattr(t, 'asset_condition', None)\n"
        "    assets = sorted(a.name for a in cond.objects) if cond is not None else []\n"
        "    print(name, type(t).__name__, repr(cron.expression), cron.timezone, assets, d.catchup, d.max_active_runs,\n"
        "          ' > '.join(x.task_id for x in d.topological_sort()), bool(d.doc_md and 'period' in d.doc_md))\n"
        "n = b.get_dag('nightly')\n"
        "print('nightly build_gate_publish outlets', [a.name for a in n.get_task('build_gate_publish').outlets])\n"
    )
    out = airflow(home, str(ROOT / ".venv/bin/python"), "-c", code, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()[-4:]
    assert lines == [
        "report_daily CronDataIntervalTimetable '0 8 * * *' Asia/Shanghai [] False 1 period > send True",
        "report_weekly AssetOrTimeSchedule '0 9 * * 1' Asia/Shanghai ['minhu_published_warehouse'] False 1"
        " period > send True",
        "report_monthly AssetOrTimeSchedule '0 9 1 * *' Asia/Shanghai ['minhu_published_warehouse'] False 1"
        " period > send True",
        "nightly build_gate_publish outlets ['minhu_published_warehouse']",
    ]


def test_report_dags_are_wired_and_airflow_dags_test_report_daily_sends_once(home, airflow_db):
    airflow_db(home)  # a copy of the session's migrated metadata database, for both checks
    check_report_dags_parse_and_are_wired(home)
    from conftest import read_eml, subject_of

    from pipeline import nightly
    from pipeline.dates import parse_date

    nightly.run(parse_date("2024-03-01"), send_report=False)
    assert not list((home / "outbox").glob("*.eml"))
    out = airflow(
        home, "airflow", "dags", "test", "report_daily", "-c", '{"period": "2024-03-01"}', timeout=900
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]
    emls = list((home / "outbox").glob("*.eml"))
    assert len(emls) == 1
    assert subject_of(read_eml(emls[0])) == "【硚口区网格中心】群众诉求日报 2024年3月1日"
    archive = home / "reports" / "daily" / "2024-03-01"
    assert len(list(archive.glob("sent-*.json"))) == 1
    assert {p.suffix for p in archive.iterdir()} >= {".html", ".xlsx", ".pdf", ".eml", ".json"}


def test_an_asset_event_from_nightly_triggers_report_weekly_under_the_scheduler(home, airflow_db):
    """nightly publishes Sunday 2024-03-10 (`airflow dags test`, real tasks): its asset event
    carries the date and queues report_weekly; a real scheduler (make airflow's script,
    LocalExecutor) then runs report_weekly as an asset-triggered run, which reads the date and,
    it being no Monday 09:00 after that Sunday now, skips without sending."""
    sunday = "2024-03-10"
    airflow_db(home)
    out = airflow(home, "airflow", "dags", "reserialize", timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    out = airflow(home, "airflow", "dags", "unpause", "report_weekly", timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    out = airflow(
        home, "airflow", "dags", "test", "nightly", "-c", json.dumps({"business_date": sunday}), timeout=900
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-5000:]

    db = home / "airflow" / "airflow.db"

    def query(sql: str) -> list[tuple]:
        con = sqlite3.connect(db, timeout=30)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    events = query(
        "select e.extra from asset_event e join asset a on a.id = e.asset_id "
        "where a.name = 'minhu_published_warehouse'"
    )
    assert [json.loads(e[0]) for e in events] == [{"business_date": sunday}]
    assert query("select target_dag_id from asset_dag_run_queue") == [("report_weekly",)]  # monthly is paused

    env = {
        **os.environ,
        "MINHU_HOME": str(home),
        "MINHU_AIRFLOW_PORT": str(free_port()),
        "MINHU_AIRFLOW_COMPONENTS": "api-server scheduler dag-processor",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    }
    try:
        up = subprocess.run(
            [str(ROOT / "scripts/airflow.sh"), "up"], env=env, capture_output=True, text=True, timeout=600
        )
        assert up.returncode == 0, (up.stdout + up.stderr)[-5000:]
        deadline = time.monotonic() + 600
        runs: list[tuple] = []
        while time.monotonic() < deadline:
            runs = query(
                "select run_id, state from dag_run where dag_id = 'report_weekly' and run_type = 'asset_triggered'"
            )
            if runs and runs[0][1] in ("success", "failed"):
                break
            time.sleep(2)
        assert runs and runs[0][1] == "success", runs
    finally:
        subprocess.run([str(ROOT / "scripts/airflow.sh"), "down"], env=env, capture_output=True, timeout=120)
    run_id = runs[0][0]
    states = dict(
        query(
            f"select task_id, state from task_instance where dag_id = 'report_weekly' and run_id = '{run_id}'"
        )
    )
    assert states == {"period": "skipped", "send": "skipped"}
    logs = list(
        (home / "logs" / "airflow" / "dag_id=report_weekly").glob(f"run_id={run_id}/task_id=period/*.log")
    )
    text = "".join(p.read_text(errors="replace") for p in logs)
    assert f"published dates seen: {sunday}" in text, text[-3000:]
    # the run's own time (now) is long past that Sunday's week: the week due now is not published
    assert "its last day" in text and "is not published yet" in text
    # the 日报 of the night went out; no 周报 from this run
    from conftest import read_eml, subject_of

    subjects = [subject_of(read_eml(p)) for p in (home / "outbox").glob("*.eml")]
    assert subjects == ["【硚口区网格中心】群众诉求日报 2024年3月10日"]
