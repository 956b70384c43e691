"""The report DAGs: each run derives its period, the DAGs parse and are wired, and
`airflow dags test report_daily` sends the 日报 once (the nightly run having sent nothing)."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from minhu.calendar import TZ
from pipeline.dates import previous_report_period, report_period_from_context

ROOT = Path(__file__).resolve().parents[1]
UTC = ZoneInfo("UTC")


def run(conf=None, run_after=None):
    return SimpleNamespace(conf=conf or {}, run_after=run_after)


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


def airflow(home: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "bin/airflow-env"), *args],
        cwd=ROOT,
        env={**os.environ, "MINHU_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def check_report_dags_parse_and_are_wired(home: Path) -> None:
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        "b = DagBag(dag_folder='dags')\n"
        "assert not b.import_errors, b.import_errors\n"
        "for name in ('report_daily', 'report_weekly', 'report_monthly'):\n"
        "    d = b.get_dag(name)\n"
        "    t = d.timetable\n"
        "    print(name, type(t).__name__, repr(t.expression), t.timezone, d.catchup, d.max_active_runs,\n"
        "          ' > '.join(x.task_id for x in d.topological_sort()), bool(d.doc_md and 'period' in d.doc_md))\n"
    )
    out = airflow(home, str(ROOT / ".venv/bin/python"), "-c", code, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()[-3:]
    assert lines == [
        "report_daily CronDataIntervalTimetable '0 8 * * *' Asia/Shanghai False 1 period > send True",
        "report_weekly CronDataIntervalTimetable '0 9 * * 1' Asia/Shanghai False 1 period > send True",
        "report_monthly CronDataIntervalTimetable '0 9 1 * *' Asia/Shanghai False 1 period > send True",
    ]


def test_report_dags_are_wired_and_airflow_dags_test_report_daily_sends_once(home):
    # one Airflow metadata database for both checks (migrating it is the slow part)
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
