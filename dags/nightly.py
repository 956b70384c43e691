"""
### nightly — the warehouse's nightly run (Airflow DAG)

Every day at 02:00 Asia/Shanghai, for the previous business date:

1. **extract** — page through the case platform's and the finance system's change-feed windows,
   land the records immutably under `$MINHU_HOME/raw/`, reconcile with `/count`;
2. **build_gate_publish** — one transaction over the warehouse, holding its lease throughout
   (so a backfill or an import cannot slip in between): load the landings into the run's own
   copy of the warehouse and run `dbt build` on it; the Great Expectations suites audit the
   build (a failed error-level expectation stops the run here, without retries, and alerts the
   data engineers naming the expectations; the generic task-failure email is skipped then, so it
   is not sent twice); the dbt docs beside the GX Data Docs under `reports/quality/`; the audited
   build atomically replaces the published warehouse if that is still the version it started from;
   then the marts are copied to PostgreSQL for BI (when MINHU_SERVING_DSN is set) and the
   `minhu_published_warehouse` Asset event (with the business date) schedules the 周报/月报;
3. **report** — the 日报 (sent once per date; re-running does not send again).

A manual run names its date: `airflow dags test nightly -c '{"business_date": "2024-03-01"}'`.
The same steps run from the shell: `minhu run --date 2024-03-01`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from pipeline.alerts import failure_notifier, failure_notifier_unless_gate
from pipeline.report_dags import announce_published, published_asset


@dag(
    dag_id="nightly",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone="Asia/Shanghai"),
    start_date=pendulum.datetime(2024, 1, 2, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["minhu"],
    params={"business_date": Param(None, type=["null", "string"], format="date")},
    default_args={
        "retries": 1,
        "retry_delay": timedelta(minutes=5),
        "pool": "minhu_warehouse",
        "on_failure_callback": failure_notifier(),
    },
)
def nightly():
    @task
    def extract(**context) -> str:
        from pipeline import nightly as steps
        from pipeline.dates import business_date_from_context

        d = business_date_from_context(context)
        steps.extract([d])
        return d.isoformat()

    # the 周报/月报 are scheduled on this asset: its event carries the business date just published
    @task(outlets=[published_asset()], on_failure_callback=failure_notifier_unless_gate())
    def build_gate_publish(business_date: str, **context) -> str:
        from pipeline import nightly as steps
        from pipeline.dates import parse_date

        steps.airflow_build_gate_publish([parse_date(business_date)], "nightly")
        announce_published(context, business_date)
        return business_date

    @task
    def report(business_date: str) -> None:
        from pipeline import nightly as steps
        from pipeline.dates import parse_date

        steps.report(parse_date(business_date))

    report(build_gate_publish(extract()))


nightly()
