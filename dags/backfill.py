"""
### backfill — the nightly pipeline over a range of business dates (Airflow DAG)

Triggered by hand with `{"start": "2024-01-01", "end": "2024-12-31"}`. The range is cut into the
windows of `minhu backfill` (cases and payments a month each, budget lines once a fiscal year);
one mapped extract task lands a group of 8 windows, 4 at a time (MINHU_BACKFILL_WORKERS), skipping
windows already landed whose /count still matches, so a cleared or retried task resumes. Then one
`build_gate_publish` task: one transaction over the warehouse, holding its lease throughout (a
nightly run or an import waits for it, and it for them), loading every window's newest landing,
one dbt build, one quality gate, the docs, one compare-and-swap publish. A backfill sends no
reports. Same steps from the shell: `minhu backfill --start 2024-01-01 --end 2024-12-31`.
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
    def windows(**context) -> list[list[list[str]]]:
        from pipeline.backfill import groups
        from pipeline.dates import parse_date

        params = context["params"]
        return groups(parse_date(params["start"]), parse_date(params["end"]))

    @task
    def extract(group: list[list[str]]) -> int:
        from pipeline.backfill import extract_group

        return extract_group(group)

    @task(on_failure_callback=failure_notifier_unless_gate())
    def build_gate_publish(skipped: list[int], **context) -> None:
        from pipeline.backfill import airflow_build_gate_publish
        from pipeline.dates import parse_date

        params = context["params"]
        airflow_build_gate_publish(parse_date(params["start"]), parse_date(params["end"]))

    landed = extract.expand(group=windows())
    build_gate_publish(landed)


backfill()
