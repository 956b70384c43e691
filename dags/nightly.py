"""
### nightly — the warehouse's nightly run (Airflow DAG)

Every day at 02:00 Asia/Shanghai, for the previous business date:

1. **extract** — page through the case platform's and the finance system's change-feed windows,
   land the records immutably under `$MINHU_HOME/raw/`, reconcile with `/count`;
2. **build** — load the landings into a copy of the warehouse and run `dbt build` on it;
3. **gate** — the Great Expectations suites audit the build; a failed error-level expectation
   stops the run here and alerts the data engineers, naming the expectations (that alert is
   the gate's own: the generic task-failure email is off for this task, so it is not sent twice);
4. **docs** — the dbt docs of the build beside the GX Data Docs under `reports/quality/`;
5. **publish** — the audited build atomically replaces the published warehouse;
6. **report** — the 日报 (sent once per date; re-running does not send again).

A manual run names its date: `airflow dags test nightly -c '{"business_date": "2024-03-01"}'`.
The same steps run from the shell: `minhu run --date 2024-03-01`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from pipeline.alerts import failure_notifier
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

    @task
    def build(business_date: str) -> str:
        from pipeline import nightly as steps
        from pipeline.dates import parse_date

        steps.build([parse_date(business_date)])
        return business_date

    @task(retries=0, on_failure_callback=[])
    def gate(business_date: str) -> str:
        from pipeline import nightly as steps

        steps.gate()
        return business_date

    @task
    def docs(business_date: str) -> str:
        from pipeline import nightly as steps

        steps.data_docs()
        return business_date

    @task(outlets=[published_asset()])  # the 周报/月报 are scheduled on this asset
    def publish(business_date: str, **context) -> str:
        from pipeline import nightly as steps

        steps.publish()
        announce_published(context, business_date)
        return business_date

    @task
    def report(business_date: str) -> None:
        from pipeline import nightly as steps
        from pipeline.dates import parse_date

        steps.report(parse_date(business_date))

    report(publish(docs(gate(build(extract())))))


nightly()
