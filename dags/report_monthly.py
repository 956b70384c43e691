"""
### report_monthly — the 月报 (Airflow DAG)

On the 1st of every month at 09:00 Asia/Shanghai: the 月报 of the previous calendar month, from
the published warehouse, sent once per month and recipient list to `[reports] monthly` of
`config/recipients.toml` (re-running does not send again; `minhu report monthly --period P
--resend` does).

**Never from bad data.** If `$MINHU_HOME/reports/quality/last_gate.json` says the last quality
gate failed, or a day of the month has no case data loaded, the data engineers get an alert,
nothing is sent and the task fails.

Period: `conf {"period": "2024-03"}`, else the month before the run's data interval end
(manual runs: before `run_after`). Shell equivalent: `minhu report monthly --period 2024-03 --send`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from pipeline.alerts import failure_notifier

KIND = "monthly"


@dag(
    dag_id="report_monthly",
    schedule=CronDataIntervalTimetable("0 9 1 * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["minhu", "report"],
    params={"period": Param(None, type=["null", "string"], description="YYYY-MM")},
    default_args={
        "retries": 1,
        "retry_delay": timedelta(minutes=10),
        "on_failure_callback": failure_notifier(),
    },
)
def report_monthly():
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


report_monthly()
