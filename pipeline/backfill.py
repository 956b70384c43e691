"""`minhu backfill`: land the dates in large windows, several at once (extract/backfill.py), then
one transaction over the warehouse (`nightly.build_gate_publish`: lease, own build, load every
window's landing, dbt build, gate, docs, CAS publish, serving). No reports.

The steps are shared with the Airflow DAG (dags/backfill.py): `groups` cuts the windows into
extract tasks, `extract_group` lands one group (skipping windows already landed), and
`airflow_build_gate_publish` loads the newest landing of every window of the range in its one
coarse task.

Progress: on a terminal a rich bar (windows done/total, records/s, ETA; then dbt's models
done/total); elsewhere one log line a window, and dbt's nodes a tenth at a time plus every
warning or error (minhu/progress.py, pipeline/transform.dbt_build).
"""

from __future__ import annotations

import logging
import time
from datetime import date

from extract import backfill as bf
from minhu import fault, warehouse
from minhu.progress import Progress

from . import freshness
from .dates import date_range
from .transform import dbt_build

log = logging.getLogger(__name__)

GROUP_SIZE = 8  # windows per Airflow extract task


def extract(spans: list[bf.Span], workers: int | None = None, **run_options) -> bf.Result:
    """Land the windows (skipping those already landed whose /count still matches), with progress."""
    workers = bf.workers_setting(workers)
    with Progress(len(spans), "backfill windows") as progress:

        def on_window(span: bf.Span, manifest, skipped: bool) -> None:
            progress.advance(
                f"{span.source} {span.label}", manifest.count, "skipped, already landed" if skipped else ""
            )

        result = bf.run(spans, workers=workers, on_window=on_window, **run_options)
    log.info("backfill extract (%d workers): %s", workers, result.summary())
    return result


def build_step(manifests: dict[bf.Span, bf.Manifest], dates: list[date]):
    """The build of a backfill transaction: every window's batches, one dbt build, freshness."""

    def step(b) -> dict:
        t = time.perf_counter()
        con = warehouse.connect(b.path)
        try:
            rows = bf.load(con, manifests, after_each=lambda: fault.point("load"))
        finally:
            con.close()
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        dbt_build(b.path)
        dbt_s = time.perf_counter() - t
        freshness.check(b.path, dates)  # alerts on a stale source; never blocks
        fault.point("after_build")
        return {
            "build": str(b.path),
            "run_id": b.run_id,
            "rows_loaded": rows,
            "load_s": round(load_s, 2),
            "dbt_build_s": round(dbt_s, 2),
        }

    return step


def run(dates: list[date], workers: int | None = None) -> dict:
    """The whole backfill of `dates` (any set of dates): land, then one build, gate and publish."""
    from . import nightly

    spans = bf.plan(dates)
    t = time.perf_counter()
    result = extract(spans, workers)
    extract_s = time.perf_counter() - t
    fault.point("after_extract")
    done = nightly.build_gate_publish(dates, "backfill", step=build_step(result.manifests, dates))
    return {
        "dates": [min(dates).isoformat(), max(dates).isoformat()],
        "windows": len(spans),
        "skipped": result.skipped,
        "landed": result.landed,
        "records": result.records,
        "extract_s": round(extract_s, 2),
        **done,
    }


def groups(start: date, end: date, size: int = GROUP_SIZE) -> list[list[list[str]]]:
    """The windows of a backfill in groups of `size` (one Airflow extract task a group), JSON-able."""
    plan = [s.to_json() for s in bf.plan_range(start, end)]
    return [plan[i : i + size] for i in range(0, len(plan), size)]


def extract_group(group: list[list[str]], workers: int | None = None) -> int:
    """Land one group of windows (an Airflow task); returns how many were skipped as already landed."""
    return extract([bf.Span.from_json(s) for s in group], workers).skipped


def airflow_build_gate_publish(start: date, end: date) -> dict:
    """The DAG's one coarse task: the newest landing of every window of the range, one transaction."""
    from . import nightly

    dates = date_range(start, end)
    manifests = bf.landed(bf.plan_range(start, end))
    return nightly.airflow_build_gate_publish(dates, "backfill", step=build_step(manifests, dates))
