from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta

import pytest

from minhu import calendar as cal
from minhu.calendar import TZ, add_working_days, calendar_rows, is_working_day

pytestmark = pytest.mark.unit


def test_spring_festival_2024_and_makeup_sunday():
    assert is_working_day(date(2024, 2, 4))  # Sunday, 调休 make-up working day
    assert not is_working_day(date(2024, 2, 12))  # Monday inside the Spring Festival holiday
    assert is_working_day(date(2024, 2, 18))  # Sunday, make-up working day after the holiday
    assert not is_working_day(date(2024, 2, 17))  # Saturday, holiday
    assert is_working_day(date(2024, 2, 19))


def test_national_day_2024():
    for day in range(1, 8):
        assert not is_working_day(date(2024, 10, day)), day
    assert is_working_day(date(2024, 9, 29))  # Sunday make-up working day
    assert is_working_day(date(2024, 10, 12))  # Saturday make-up working day
    assert is_working_day(date(2024, 10, 8))


def test_ordinary_week():
    assert is_working_day(date(2024, 3, 1))  # Friday
    assert not is_working_day(date(2024, 3, 2))
    assert not is_working_day(date(2024, 3, 3))


def test_add_working_days_across_national_day():
    dispatched = datetime(2024, 9, 30, 10, 0, tzinfo=TZ)
    assert add_working_days(dispatched, 1) == datetime(2024, 10, 8, 23, 59, 59, tzinfo=TZ)
    assert add_working_days(dispatched, 3) == datetime(2024, 10, 10, 23, 59, 59, tzinfo=TZ)
    # 10 working days: Oct 8, 9, 10, 11, 12 (Sat make-up), 14, 15, 16, 17, 18
    assert add_working_days(dispatched, 10) == datetime(2024, 10, 18, 23, 59, 59, tzinfo=TZ)
    # dispatched on the make-up Sunday: that day does not count
    assert add_working_days(datetime(2024, 9, 29, 8, 0, tzinfo=TZ), 1) == datetime(
        2024, 9, 30, 23, 59, 59, tzinfo=TZ
    )


def test_add_working_days_rules():
    fri = datetime(2024, 2, 2, 16, 30, tzinfo=TZ)
    assert add_working_days(fri, 1) == datetime(2024, 2, 4, 23, 59, 59, tzinfo=TZ)  # make-up Sunday
    # dispatched late on a Saturday: the next working day is Monday
    sat = datetime(2024, 3, 2, 23, 0, tzinfo=TZ)
    assert add_working_days(sat, 1) == datetime(2024, 3, 4, 23, 59, 59, tzinfo=TZ)
    assert add_working_days(sat, 0) == datetime(2024, 3, 2, 23, 59, 59, tzinfo=TZ)
    with pytest.raises(ValueError):
        add_working_days(sat, -1)


def test_add_working_days_uses_local_date():
    # 2024-03-01 17:30 UTC is 2024-03-02 01:30 in Shanghai (a Saturday)
    utc = datetime(2024, 3, 1, 17, 30, tzinfo=UTC)
    due = add_working_days(utc, 1)
    assert due == datetime(2024, 3, 4, 23, 59, 59, tzinfo=TZ)
    assert due.utcoffset() == timedelta(hours=8)
    # naive datetimes are Asia/Shanghai
    assert add_working_days(datetime(2024, 3, 2, 1, 30), 1) == due


def test_calendar_rows():
    rows = calendar_rows(date(2024, 9, 28), date(2024, 10, 13))
    assert len(rows) == 16
    by_date = {r["date"]: r for r in rows}
    oct1 = by_date[date(2024, 10, 1)]
    assert oct1["is_holiday"] and not oct1["is_working_day"] and oct1["holiday_name"] == "国庆节"
    assert oct1["iso_year"] == 2024 and oct1["iso_week"] == 40 and oct1["day_of_week"] == 2
    sep29 = by_date[date(2024, 9, 29)]
    assert sep29["is_makeup_workday"] and sep29["is_working_day"] and not sep29["is_holiday"]
    assert sep29["holiday_name"] == "国庆节"
    sep28 = by_date[date(2024, 9, 28)]  # ordinary Saturday
    assert not sep28["is_working_day"] and not sep28["is_holiday"] and sep28["holiday_name"] is None
    assert all(r["calendar_source"] == cal.SOURCE_OFFICIAL for r in rows)
    assert set(rows[0]) == {
        "date",
        "iso_year",
        "iso_week",
        "year",
        "month",
        "day_of_week",
        "is_working_day",
        "is_holiday",
        "holiday_name",
        "is_makeup_workday",
        "calendar_source",
    }
    spring = {r["date"]: r for r in calendar_rows(date(2024, 2, 1), date(2024, 2, 29))}
    assert spring[date(2024, 2, 12)]["holiday_name"] == "春节"
    assert spring[date(2024, 2, 4)]["is_makeup_workday"]
    assert sum(r["is_holiday"] for r in spring.values()) == 8  # 2024-02-10..17


def test_year_2024_working_day_count():
    rows = calendar_rows(date(2024, 1, 1), date(2024, 12, 31))
    assert len(rows) == 366
    assert sum(r["is_working_day"] for r in rows) == 251


def test_outside_supported_range_is_explicit(caplog):
    lo, hi = cal.supported_range()
    beyond = date(hi.year + 1, 1, 5)
    while beyond.weekday() != 0:  # a Monday
        beyond += timedelta(days=1)
    with pytest.raises(cal.CalendarRangeError, match="outside the official holiday data"):
        is_working_day(beyond, strict=True)
    cal._warned_years.discard(beyond.year)
    with caplog.at_level(logging.WARNING, logger="minhu.calendar"):
        assert is_working_day(beyond)  # fallback rule: Monday is a working day
        assert not is_working_day(beyond + timedelta(days=5))  # Saturday
    assert "weekday_fallback" in caplog.text
    rows = calendar_rows(beyond, beyond + timedelta(days=6))
    assert all(r["calendar_source"] == cal.SOURCE_FALLBACK for r in rows)
    assert [r["is_working_day"] for r in rows] == [True] * 5 + [False] * 2
    assert not any(r["is_holiday"] or r["is_makeup_workday"] for r in rows)
    with pytest.raises(cal.CalendarRangeError):
        calendar_rows(beyond, beyond, strict=True)
    with pytest.raises(cal.CalendarRangeError):
        add_working_days(datetime.combine(hi, time(9), tzinfo=TZ), 5, strict=True)


def test_day_window():
    start, end = cal.day_window(date(2024, 3, 1))
    assert start.isoformat() == "2024-03-01T00:00:00+08:00"
    assert end.isoformat() == "2024-03-02T00:00:00+08:00"
