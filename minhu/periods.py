"""Periods: the one parser of period keys and the report periods built on it.

A period is a half-open range of local (Asia/Shanghai) calendar dates of a grain: a day
('2024-03-01'), an ISO week ('2024-W10', Monday to Sunday), a month ('2024-03') or a year
('2024'). `period_bounds` is the only place a period key is parsed: `minhu indicators --grain`,
`minhu report KIND --period` (pipeline/) and the reports (`parse_period`) all go through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from minhu.errors import InvalidInput

# The period forms of every grain: `minhu indicators --grain`, and the report kinds' periods.
PERIOD_FORMS = {
    "day": ("YYYY-MM-DD", "2024-03-01"),
    "week": ("YYYY-Www, an ISO week", "2024-W10"),
    "month": ("YYYY-MM", "2024-03"),
    "year": ("YYYY", "2024"),
}
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_PERIOD_RE = {
    "day": DATE_RE,
    "week": re.compile(r"^(\d{4})-W(\d{2})$"),
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "year": re.compile(r"^(\d{4})$"),
}
# report kind -> grain of its indicator rows
KIND_GRAIN = {"daily": "day", "weekly": "week", "monthly": "month", "selfeval": "year"}


def period_bounds(grain: str, period: str) -> tuple[date, date]:
    """The [first day, day after the last) of a period of a grain; InvalidInput naming the value and
    the expected form for an unknown grain or a period that is not a real one of that grain
    (2024-02-30, 2024-13, 2024-W60, 2023-W53)."""
    if grain not in PERIOD_FORMS:
        raise InvalidInput(f"unknown grain {grain!r}: expected one of {', '.join(PERIOD_FORMS)}")
    form, example = PERIOD_FORMS[grain]
    m = _PERIOD_RE[grain].match(str(period).strip())
    try:
        if m is None:
            raise ValueError
        y = int(m.group(1))
        if grain == "day":
            start = date(y, int(m.group(2)), int(m.group(3)))
            return start, start + timedelta(days=1)
        if grain == "week":
            start = date.fromisocalendar(y, int(m.group(2)), 1)
            return start, start + timedelta(days=7)
        if grain == "month":
            mo = int(m.group(2))
            start = date(y, mo, 1)
            return start, date(y + (mo == 12), mo % 12 + 1, 1)
        if y < 1:
            raise ValueError
        return date(y, 1, 1), date(y + 1, 1, 1)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"period {period!r} is not a {grain} period: expected {form} (e.g. {example})"
        ) from None


def check_period(grain: str, period: str) -> str:
    """The period, stripped, if it is a real period of the grain; InvalidInput otherwise."""
    period_bounds(grain, period)
    return str(period).strip()


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


@dataclass(frozen=True)
class Period:
    """A report's period: kind daily | weekly | monthly, key as `period_bounds` reads it."""

    kind: str  # daily | weekly | monthly
    key: str  # 2024-03-01 | 2024-W10 | 2024-03
    start: date
    end: date  # exclusive

    @property
    def grain(self) -> str:
        return KIND_GRAIN[self.kind]

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def shifted(self, n: int) -> Period:
        """The period n grains later (n < 0: earlier)."""
        if self.kind == "daily":
            return period_of("daily", self.start + timedelta(days=n))
        if self.kind == "weekly":
            return period_of("weekly", self.start + timedelta(days=7 * n))
        months = self.start.year * 12 + self.start.month - 1 + n
        return period_of("monthly", date(months // 12, months % 12 + 1, 1))

    def year_ago(self) -> Period:
        """同比: the same day / ISO week / month a year earlier."""
        if self.kind == "daily":
            d = self.start
            return period_of(
                "daily",
                d.replace(year=d.year - 1, day=28)
                if (d.month, d.day) == (2, 29)
                else d.replace(year=d.year - 1),
            )
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            weeks = date(year - 1, 12, 28).isocalendar()[1]
            return period_of("weekly", date.fromisocalendar(year - 1, min(week, weeks), 1))
        return period_of("monthly", self.start.replace(year=self.start.year - 1))

    @property
    def text(self) -> str:
        """The period as the subject line writes it."""
        if self.kind == "daily":
            return cn_date(self.start)
        if self.kind == "monthly":
            return f"{self.start.year}年{self.start.month}月"
        year, week, _ = self.start.isocalendar()
        last = self.last
        if self.start.year == last.year == year:
            span = f"{self.start.month}月{self.start.day}日—{last.month}月{last.day}日"
        else:
            span = f"{cn_date(self.start)}—{cn_date(last)}"
        return f"{year}年第{week}周（{span}）"

    @property
    def label(self) -> str:
        """The period with its year, for comparison notes."""
        if self.kind == "daily":
            return cn_date(self.start)
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}年第{week}周"
        return f"{self.start.year}年{self.start.month}月"

    @property
    def short(self) -> str:
        """A compact label for charts and comparison columns."""
        if self.kind == "daily":
            return f"{self.start.month}月{self.start.day}日"
        if self.kind == "weekly":
            return f"第{self.start.isocalendar()[1]}周"
        return f"{self.start.year % 100:02d}年{self.start.month}月"


def period_of(kind: str, d: date) -> Period:
    """The daily / weekly / monthly period containing date d."""
    if kind == "daily":
        return Period(kind, d.isoformat(), d, d + timedelta(days=1))
    if kind == "weekly":
        start = d - timedelta(days=d.weekday())
        year, week, _ = start.isocalendar()
        return Period(kind, f"{year}-W{week:02d}", start, start + timedelta(days=7))
    if kind == "monthly":
        start = d.replace(day=1)
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        return Period(kind, f"{start.year}-{start.month:02d}", start, end)
    raise ValueError(f"unknown report kind {kind!r}")


def parse_period(kind: str, key: str | date) -> Period:
    """'2024-03-01' (daily), '2024-W10' (weekly, ISO), '2024-03' (monthly), or a date in it."""
    if isinstance(key, date):
        return period_of(kind, key)
    if kind not in ("daily", "weekly", "monthly"):
        raise ValueError(f"unknown report kind {kind!r}")
    try:
        start, _ = period_bounds(KIND_GRAIN[kind], key)
    except InvalidInput:
        example = PERIOD_FORMS[KIND_GRAIN[kind]][1]
        raise InvalidInput(f"period {key!r} is not a {kind} period (e.g. {example})") from None
    return period_of(kind, start)
