"""The shape every report DAG shares (report_daily, report_weekly, report_monthly).

Two tasks, `period > send`: the period derived from the run (conf "period", else the period
before the run's data interval end, else before run_after), then the report rendered from the
published warehouse and sent once per period and recipient list. A refused report (failed gate,
period not loaded) fails the task without retries: the data engineers have been alerted.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from pipeline.alerts import failure_notifier

PERIOD_FORMAT = {"daily": "YYYY-MM-DD", "weekly": "YYYY-Www (ISO week)", "monthly": "YYYY-MM"}


def report_dag(kind: str, cron: str, start: pendulum.DateTime, doc_md: str):
    """Build the DAG `report_<kind>` scheduled by `cron` in Asia/Shanghai."""

    @dag(
        dag_id=f"report_{kind}",
        schedule=CronDataIntervalTimetable(cron, timezone="Asia/Shanghai"),
        start_date=start,
        catchup=False,
        max_active_runs=1,
        doc_md=doc_md,
        tags=["minhu", "report"],
        params={"period": Param(None, type=["null", "string"], description=PERIOD_FORMAT[kind])},
        default_args={
            "retries": 1,
            "retry_delay": timedelta(minutes=10),
            "on_failure_callback": failure_notifier(),
        },
    )
    def report_dag_body():
        @task
        def period(**context) -> str:
            from pipeline.dates import report_period_from_context

            return report_period_from_context(kind, context)

        @task
        def send(p: str) -> dict:
            from airflow.exceptions import AirflowFailException

            from pipeline.reporting import ReportBlocked, report

            try:
                return report(kind, p, send=True)
            except ReportBlocked as exc:  # the engineers have been alerted; retrying cannot help
                raise AirflowFailException(str(exc)) from exc

        send(period())

    return report_dag_body()
