"""dim_calendar: one row per local (Asia/Shanghai) date with China's working days.

The rows come from ``minhu.calendar.calendar_rows`` (the ``chinese-calendar`` package: State
Council holidays and 调休 make-up working days); nothing here is a hand-typed holiday list.
Range: whole years from min(2020, the earliest received_at year in raw.cases) to
max(2026, the latest due_at / updated_at year in raw.cases). Dates the package has no data for
use the module's documented Monday-Friday fallback and say so in ``calendar_source``.
"""

import datetime as dt

import pandas as pd

from minhu.calendar import calendar_rows

FIRST_YEAR = 2020
LAST_YEAR = 2026


def model(dbt, session):  # noqa: ARG001 (the dbt-duckdb signature)
    dbt.config(materialized="table")
    cases = dbt.source("raw", "cases")
    lo, hi = cases.aggregate(
        "min(try_cast(left(received_at, 4) as integer)),"
        " max(greatest(try_cast(left(due_at, 4) as integer), try_cast(left(updated_at, 4) as integer)))"
    ).fetchone()
    first = min(FIRST_YEAR, lo or FIRST_YEAR)
    last = max(LAST_YEAR, hi or LAST_YEAR)
    rows = calendar_rows(dt.date(first, 1, 1), dt.date(last, 12, 31))
    df = pd.DataFrame(rows)
    df = df.rename(columns={"date": "date_day"})
    df["date_key"] = [d.year * 10000 + d.month * 100 + d.day for d in df["date_day"]]
    df["week_label"] = [f"{y}-W{w:02d}" for y, w in zip(df["iso_year"], df["iso_week"], strict=True)]
    df["month_label"] = [f"{d.year}-{d.month:02d}" for d in df["date_day"]]
    df["year_label"] = [str(d.year) for d in df["date_day"]]
    df["quarter"] = [(d.month - 1) // 3 + 1 for d in df["date_day"]]
    df["is_weekend"] = df["day_of_week"] >= 6
    columns = [
        "date_day", "date_key", "year", "quarter", "month", "iso_year", "iso_week", "day_of_week",
        "week_label", "month_label", "year_label", "is_weekend", "is_working_day", "is_holiday",
        "holiday_name", "is_makeup_workday", "calendar_source",
    ]  # fmt: skip
    return df[columns]
