"""
### report_daily — the 日报 (Airflow DAG)

Every day at 08:00 Asia/Shanghai: the 日报 of the previous local date, from the published
warehouse, sent to `[reports] daily` of `config/recipients.toml`.

**Who sends the 日报.** The `nightly` DAG already sends it at the end of its run (after
publish). This DAG is the safety net: sending is once per date and recipient list (a marker in
`$MINHU_HOME/reports/daily/<date>/`), so when the nightly run has sent it, this run only
re-renders the archive and sends nothing; when the nightly run did not get as far (a late or
re-run night), this run sends it at 08:00.

**Never from bad data.** If `$MINHU_HOME/reports/quality/last_gate.json` says the last quality
gate failed, or the date's case data is not loaded, the data engineers get an alert, nothing is
sent and the task fails.

Period: `conf {"period": "2024-03-01"}`, else the local day before the run's data interval end
(manual runs: before `run_after`). Shell equivalent: `minhu report daily --period 2024-03-01 --send`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from pipeline.alerts import failure_notifier

KIND = "daily"


@dag(
    dag_id="report_daily",
    schedule=CronDataIntervalTimetable("0 8 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2024, 1, 2, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["minhu", "report"],
    params={"period": Param(None, type=["null", "string"], description="YYYY-MM-DD")},
    default_args={
        "retries": 1,
        "retry_delay": timedelta(minutes=10),
        "on_failure_callback": failure_notifier(),
    },
)
def report_daily():
    @task
    def period(**context) -> str:
        from pipeline.dates import report_period_from_context

        return report_period_from_context(KIND, context)

    @task
    def send(p: str) -> dict:
        from airflow.exceptions import AirflowFailException

        from pipeline.reporting import ReportBlocked, report

        try:
            return report(KIND, p, send=True)
        except ReportBlocked as exc:  # the engineers have been alerted; retrying cannot help
            raise AirflowFailException(str(exc)) from exc

    send(period())


report_daily()
