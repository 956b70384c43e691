"""Business dates: local calendar dates in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from minhu.calendar import TZ


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from exc


def date_range(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def business_date_from_context(context: dict[str, Any]) -> date:
    """The business date an Airflow run of `nightly` covers.

    In order: ``dag_run.conf["business_date"]`` (manual runs and `airflow dags test -c`); else
    the local day before ``data_interval_end`` (a scheduled 02:00 run covers the previous
    day); else the local day before ``run_after`` / ``logical_date``. Manual runs in Airflow 3
    have no data interval, so the fallbacks matter.
    """
    dag_run = context.get("dag_run")
    conf = (getattr(dag_run, "conf", None) or {}) if dag_run else {}
    params = context.get("params") or {}
    explicit = conf.get("business_date") or params.get("business_date")
    if explicit:
        return parse_date(str(explicit))
    for key in ("data_interval_end", "logical_date"):
        value = context.get(key)
        if isinstance(value, datetime):
            return (value.astimezone(TZ) - timedelta(days=1)).date()
    run_after = getattr(dag_run, "run_after", None) if dag_run else None
    if isinstance(run_after, datetime):
        return (run_after.astimezone(TZ) - timedelta(days=1)).date()
    raise ValueError("cannot tell the business date of this run: pass conf {'business_date': 'YYYY-MM-DD'}")


def month_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut at month boundaries: the unit of work of a backfill task."""
    days = date_range(start, end)
    chunks: list[tuple[date, date]] = []
    for d in days:
        if chunks and (chunks[-1][0].year, chunks[-1][0].month) == (d.year, d.month):
            chunks[-1] = (chunks[-1][0], d)
        else:
            chunks.append((d, d))
    return chunks
