"""Business dates: local calendar dates in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from minhu.calendar import TZ
from minhu.errors import InvalidInput
from minhu.periods import DATE_RE as _DATE_RE
from minhu.periods import KIND_GRAIN as REPORT_GRAIN
from minhu.periods import (
    PERIOD_FORMS,
    check_period,  # noqa: F401 - the one period parser (minhu/periods.py), for the CLI
    period_bounds,
)


def parse_date(value: str, what: str = "date") -> date:
    """'YYYY-MM-DD' -> date; InvalidInput (a ValueError) naming the value otherwise."""
    text = str(value).strip()
    m = _DATE_RE.match(text)
    try:
        if m is None:
            raise ValueError
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise InvalidInput(
            f"{what} {value!r} is not a calendar date: expected YYYY-MM-DD (e.g. 2024-03-01)"
        ) from None


def date_range(start: date, end: date) -> list[date]:
    if end < start:
        raise InvalidInput(f"end {end} is before start {start}: expected --start <= --end")
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


REPORT_KINDS = ("daily", "weekly", "monthly")


def previous_report_period(kind: str, moment: datetime) -> str:
    """The period a report run at `moment` covers, from its local (Asia/Shanghai) date:
    daily → the day before ('2024-03-01'), weekly → the previous ISO week ('2024-W10'),
    monthly → the previous month ('2024-03')."""
    if moment.tzinfo is None:
        raise ValueError(f"a report run's time must carry its offset: {moment!r}")
    today = moment.astimezone(TZ).date()
    if kind == "daily":
        return (today - timedelta(days=1)).isoformat()
    if kind == "weekly":
        year, week, _ = (today - timedelta(days=7)).isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "monthly":
        last = today.replace(day=1) - timedelta(days=1)
        return f"{last.year}-{last.month:02d}"
    raise InvalidInput(f"unknown report kind {kind!r}: expected one of {', '.join(REPORT_KINDS)}")


def report_period_from_context(kind: str, context: dict[str, Any]) -> str:
    """The period an Airflow run of `report_<kind>` covers.

    In order: ``dag_run.conf["period"]`` (or the DAG param ``period``), checked against the
    kind's form; else the period before ``data_interval_end`` in Asia/Shanghai (a scheduled run
    at 08:00 / Monday 09:00 / the 1st 09:00 covers the previous day / ISO week / month); else
    before ``dag_run.run_after`` (manual runs in Airflow 3 have no data interval), else before
    ``logical_date``.
    """
    if kind not in REPORT_KINDS:
        raise InvalidInput(f"unknown report kind {kind!r}: expected one of {', '.join(REPORT_KINDS)}")
    dag_run = context.get("dag_run")
    conf = (getattr(dag_run, "conf", None) or {}) if dag_run else {}
    params = context.get("params") or {}
    explicit = conf.get("period") or params.get("period")
    if explicit:
        explicit = str(explicit).strip()
        try:
            period_bounds(REPORT_GRAIN[kind], explicit)
        except InvalidInput:
            form, example = PERIOD_FORMS[REPORT_GRAIN[kind]]
            raise InvalidInput(
                f"conf period {explicit!r} is not a {kind} period: expected {form} (e.g. {example})"
            ) from None
        return explicit
    candidates = [context.get("data_interval_end"), getattr(dag_run, "run_after", None) if dag_run else None]
    candidates.append(context.get("logical_date"))
    for value in candidates:
        if isinstance(value, datetime):
            return previous_report_period(kind, value)
    raise ValueError(f"cannot tell the period of this {kind} report run: pass conf {{'period': '...'}}")
