"""
### backfill — the nightly pipeline over a range of business dates (Airflow DAG)

Triggered by hand with `{"start": "2024-01-01", "end": "2024-12-31"}`. Extraction runs one task
per month of the range (a task per day would cost more in scheduling than in work); then one
`build_gate_publish` task: one transaction over the warehouse, holding its lease throughout (a
nightly run or an import waits for it, and it for them), building every landed window, one quality
gate, the docs, one compare-and-swap publish. A backfill sends no reports. Same steps from the shell: `minhu backfill --start 2024-01-01 --end 2024-12-31`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from pipeline.alerts import failure_notifier, failure_notifier_unless_gate


@dag(
    dag_id="backfill",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["minhu"],
    params={
        "start": Param("2024-01-01", type="string", format="date"),
        "end": Param("2024-01-31", type="string", format="date"),
    },
    default_args={"retries": 1, "pool": "minhu_warehouse", "on_failure_callback": failure_notifier()},
)
def backfill():
    @task
    def months(**context) -> list[list[str]]:
        from pipeline.dates import month_chunks, parse_date

        params = context["params"]
        chunks = month_chunks(parse_date(params["start"]), parse_date(params["end"]))
        return [[a.isoformat(), b.isoformat()] for a, b in chunks]

    @task
    def extract(chunk: list[str]) -> list[str]:
        from pipeline import nightly as steps
        from pipeline.dates import date_range, parse_date

        dates = date_range(parse_date(chunk[0]), parse_date(chunk[1]))
        steps.extract(dates)
        return chunk

    @task(on_failure_callback=failure_notifier_unless_gate())
    def build_gate_publish(chunks: list[list[str]]) -> None:
        from pipeline import nightly as steps
        from pipeline.dates import date_range, parse_date

        dates = [d for a, b in chunks for d in date_range(parse_date(a), parse_date(b))]
        steps.airflow_build_gate_publish(dates, "backfill")

    landed = extract.expand(chunk=months())
    build_gate_publish(landed)


backfill()
