"""Asia/Shanghai business calendar: working days, public holidays and 调休 make-up working days.

Every working-day computation of the project (case time limits, the date dimension, reports)
goes through this module. It is built on the ``chinese_calendar`` package, which carries the
State Council holiday notices (节假日安排) including make-up working days; nothing here is a
hand-typed list of holidays.

Dates outside the package's data
--------------------------------
``chinese_calendar`` only knows the years of the notices it ships (:func:`supported_range`)
and raises ``NotImplementedError`` beyond them. For such dates this module applies one
explicit, documented rule, :data:`FALLBACK_RULE`: *Monday–Friday are working days, Saturday
and Sunday are not, there are no public holidays and no make-up days*. Each use of the rule
logs a warning (once per year per process) and ``calendar_rows`` marks such rows with
``calendar_source = "weekday_fallback"``. Callers that must not guess pass ``strict=True`` and
get a :class:`CalendarRangeError` instead. The remedy is upgrading ``chinese-calendar`` once
the State Council has published the year's notice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar.constants import Holiday
from chinese_calendar.constants import holidays as _CC_HOLIDAYS

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")

# The due time within the last working day of a time limit (see add_working_days).
END_OF_DAY = time(23, 59, 59)

FALLBACK_RULE = "weekday_fallback: Mon-Fri are working days, Sat/Sun are not, no holidays, no make-up days"
SOURCE_OFFICIAL = "chinese_calendar"
SOURCE_FALLBACK = "weekday_fallback"

_HOLIDAY_ZH = {h.value: h.chinese for h in Holiday}
_MIN_YEAR = min(_CC_HOLIDAYS).year
_MAX_YEAR = max(_CC_HOLIDAYS).year
_warned_years: set[int] = set()


class CalendarRangeError(ValueError):
    """A date outside the years chinese_calendar has holiday data for (only with strict=True)."""


class DayInfo(NamedTuple):
    is_working_day: bool
    is_holiday: bool  # a day off inside a public-holiday period (not a plain weekend)
    holiday_name: str | None  # Chinese name of the holiday the day belongs to (also for make-up days)
    is_makeup_workday: bool  # 调休: a Saturday/Sunday that is a working day
    source: str  # SOURCE_OFFICIAL or SOURCE_FALLBACK


def supported_range() -> tuple[date, date]:
    """First and last date that chinese_calendar has official data for."""
    return date(_MIN_YEAR, 1, 1), date(_MAX_YEAR, 12, 31)


def is_supported(d: date) -> bool:
    return _MIN_YEAR <= _as_date(d).year <= _MAX_YEAR


def to_local(dt: datetime) -> datetime:
    """The same instant in Asia/Shanghai; a naive datetime is taken to be Asia/Shanghai already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=TZ)
    return dt.astimezone(TZ)


def day_window(d: date) -> tuple[datetime, datetime]:
    """The local calendar day ``d`` as the half-open interval [00:00, next day 00:00) in Asia/Shanghai."""
    start = datetime.combine(d, time(0), tzinfo=TZ)
    return start, datetime.combine(d + timedelta(days=1), time(0), tzinfo=TZ)


def day_info(d: date, *, strict: bool = False) -> DayInfo:
    """Everything the calendar knows about one local date (see the module docstring for the fallback)."""
    d = _as_date(d)
    if not is_supported(d):
        if strict:
            lo, hi = supported_range()
            raise CalendarRangeError(
                f"{d.isoformat()} is outside the official holiday data of chinese_calendar "
                f"({lo.isoformat()}..{hi.isoformat()}); upgrade chinese-calendar or use strict=False "
                f"to apply the rule {FALLBACK_RULE!r}"
            )
        if d.year not in _warned_years:
            _warned_years.add(d.year)
            log.warning(
                "calendar: no official holiday data for %s (chinese_calendar covers %s-%s); applying %s",
                d.year,
                _MIN_YEAR,
                _MAX_YEAR,
                FALLBACK_RULE,
            )
    return _day_info(d)


def is_working_day(d: date, *, strict: bool = False) -> bool:
    """True if ``d`` is a working day in mainland China (official calendar with 调休)."""
    return day_info(d, strict=strict).is_working_day


def add_working_days(start: datetime, n: int, *, strict: bool = False) -> datetime:
    """The due time of a case dispatched at ``start`` with a limit of ``n`` working days.

    Rule: take the local (Asia/Shanghai) calendar date of ``start``; the dispatch day itself
    does not count, whatever the hour and whether or not it is a working day. Count ``n``
    working days forward from the day after; the due time is 23:59:59 local time of the n-th
    working day, i.e. the end of that day (a case closed at any second of that day is on time).
    ``n = 0`` gives the end of the dispatch day itself.

    Examples: dispatched Mon 2024-09-30 10:00 with 3 working days -> Thu 2024-10-10 23:59:59
    (2024-10-01..07 are the National Day holiday); dispatched Fri 2024-02-02 with 1 -> Sun
    2024-02-04 23:59:59 (a make-up working day).

    A naive ``start`` is taken to be Asia/Shanghai. The result is timezone-aware (Asia/Shanghai).
    """
    if n < 0:
        raise ValueError(f"add_working_days: n must be >= 0, got {n}")
    day = to_local(start).date()
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day, strict=strict):
            remaining -= 1
    return datetime.combine(day, END_OF_DAY, tzinfo=TZ)


def calendar_rows(start: date, end: date, *, strict: bool = False) -> list[dict]:
    """One row per date from ``start`` to ``end`` inclusive, for the date dimension.

    Keys: date, iso_year, iso_week, year, month, day_of_week (ISO: 1 = Monday .. 7 = Sunday),
    is_working_day, is_holiday (a day off inside a public-holiday period; plain weekends are
    False), holiday_name (Chinese name, e.g. 春节, of the holiday period the date belongs to —
    also set on its make-up working days — else None), is_makeup_workday (a Saturday/Sunday that
    is a working day by 调休) and calendar_source ("chinese_calendar", or "weekday_fallback"
    for dates outside the official data; see the module docstring).
    """
    start, end = _as_date(start), _as_date(end)
    if end < start:
        raise ValueError(f"calendar_rows: end {end} is before start {start}")
    rows = []
    d = start
    while d <= end:
        info = day_info(d, strict=strict)
        iso = d.isocalendar()
        rows.append(
            {
                "date": d,
                "iso_year": iso.year,
                "iso_week": iso.week,
                "year": d.year,
                "month": d.month,
                "day_of_week": iso.weekday,
                "is_working_day": info.is_working_day,
                "is_holiday": info.is_holiday,
                "holiday_name": info.holiday_name,
                "is_makeup_workday": info.is_makeup_workday,
                "calendar_source": info.source,
            }
        )
        d += timedelta(days=1)
    return rows


@lru_cache(maxsize=16384)
def _day_info(d: date) -> DayInfo:
    weekend = d.weekday() >= 5
    if not is_supported(d):
        return DayInfo(not weekend, False, None, False, SOURCE_FALLBACK)
    working = chinese_calendar.is_workday(d)
    off, name = chinese_calendar.get_holiday_detail(d)
    name_zh = _HOLIDAY_ZH.get(name, name) if name else None
    return DayInfo(
        is_working_day=working,
        is_holiday=(not working) and name is not None,
        holiday_name=name_zh,
        is_makeup_workday=working and weekend,
        source=SOURCE_OFFICIAL,
    )


def _as_date(d: date) -> date:
    if isinstance(d, datetime):
        return to_local(d).date()
    return d
