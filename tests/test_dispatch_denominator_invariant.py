"""No case falls out of every period (indicators.md): an invariant on two simulated months.

February and March 2024 (and the first days of April, so that March's last cases are
dispatched) are extracted from the real case-platform simulator over HTTP and landed
(``extract.land``), loaded (``pipeline.nightly.load_dates``) and built with dbt. Then, per grain
(day, ISO week, month), the dispatch_timely_rate denominators of scope ``all`` summed over every
period must equal a count made here from ``marts.fct_cases`` in plain Python:

* every non-rejected case with a dispatched_at counts once — in the period it was received in,
  however long after that period's end it was dispatched;
* plus every non-rejected case not dispatched yet whose 24 h limit passed by the as_of of the
  period it was received in (as_of = min(local end of the period, newest updated_at loaded)).

So each dispatched case is in exactly one day's, one week's and one month's denominator. The data
must hold cases received on the last day of a day / week / month and dispatched after it ends
(else the test could not fail): the count of those is asserted too, and so is the fact that the
reading "dispatched by as_of" (which dropped them) would give another sum.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest

from extract import land
from pipeline import nightly
from pipeline.transform import dbt

pytestmark = pytest.mark.dbt

TZ = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2024, 2, 1), date(2024, 4, 3)
DATES = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
LIMIT = timedelta(hours=24)
REJECTED = "不予受理"
GRAINS = ("day", "week", "month")
MODELS = "indicator_targets stg_platform__case_rows stg_platform__cases fct_case_events fct_cases int_periods fct_case_indicators"


def period_bounds(grain: str, d: date) -> tuple[date, date]:
    """[first day, first day after) of the local day / ISO week / month containing d."""
    if grain == "day":
        return d, d + timedelta(days=1)
    if grain == "week":
        start = d - timedelta(days=d.weekday())
        return start, start + timedelta(days=7)
    start = d.replace(day=1)
    return start, date(start.year + start.month // 12, start.month % 12 + 1, 1)


def midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=TZ)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, sources_url):
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("dispatch_invariant") / "home"
    mp.setenv("MINHU_HOME", str(home))
    mp.setenv("MINHU_SOURCE_URL", sources_url)
    mp.delenv("MINHU_DISTRICT", raising=False)
    for d in DATES:
        land.extract_day(d, ("cases",))
    wh = home / "invariant.duckdb"
    nightly.load_dates(wh, DATES, sources=("cases",))
    dbt(
        [
            "build",
            "--select",
            *MODELS.split(),
            "--exclude-resource-type",
            "test",
            "--exclude-resource-type",
            "unit_test",
        ],
        wh,
    )
    yield wh
    mp.undo()


def query(wh, sql: str) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def cases(wh) -> list[tuple[str | None, datetime, datetime | None]]:
    """(status, received_at, dispatched_at) of every case's latest version, local aware datetimes."""
    rows = query(
        wh, "select status, epoch(received_at), epoch(dispatched_at), epoch(updated_at) from marts.fct_cases"
    )
    out = []
    for status, received, dispatched, updated in rows:
        out.append(
            (
                status,
                datetime.fromtimestamp(received, TZ),
                None if dispatched is None else datetime.fromtimestamp(dispatched, TZ),
                datetime.fromtimestamp(updated, TZ),
            )
        )
    return out


def test_every_dispatched_case_is_in_exactly_one_period_per_grain(warehouse):
    all_cases = cases(warehouse)
    loaded_until = max(c[3] for c in all_cases)
    valid = [c for c in all_cases if c[0] != REJECTED]
    dispatched = [c for c in valid if c[2] is not None]
    assert len(dispatched) > 20_000, len(dispatched)  # two months of a district's cases

    got = dict(
        query(
            warehouse,
            "select grain, sum(denominator) from marts.fct_case_indicators"
            " where indicator = 'dispatch_timely_rate' and scope = 'all' group by grain",
        )
    )
    by_channel = dict(
        query(
            warehouse,
            "select grain, sum(denominator) from marts.fct_case_indicators"
            " where indicator = 'dispatch_timely_rate' and scope like 'channel:%' group by grain",
        )
    )
    crossing = Counter()
    for grain in GRAINS:
        expected = len(dispatched)
        old_reading = 0  # "dispatched by as_of": what the denominators summed to before the fix
        for _, received, dispatched_at, _ in valid:
            _, after = period_bounds(grain, received.date())
            as_of = min(midnight(after), loaded_until)
            limit_passed = received + LIMIT <= as_of
            if dispatched_at is None:
                expected += limit_passed
            elif dispatched_at >= midnight(after):
                crossing[grain] += 1
            old_reading += (dispatched_at is not None and dispatched_at <= as_of) or limit_passed
        assert int(got[grain]) == expected, (grain, got[grain], expected)
        assert int(by_channel[grain]) == expected, (grain, by_channel[grain], expected)
        assert old_reading != expected, grain  # the data holds cases the old reading dropped
    # cases received before midnight and dispatched after the end of their day / week / month
    assert crossing["day"] > 1000 and crossing["week"] > 50 and crossing["month"] > 5, crossing


def test_cases_received_late_on_march_31_count_in_march(warehouse):
    """2024-03-31 is a Sunday: the last day of March and of 2024-W13. The cases received from 23:00
    and dispatched after midnight are in that day's, week's and month's denominators."""
    late = query(
        warehouse,
        "select count(*) from marts.fct_cases where coalesce(status, '') != '不予受理'"
        " and received_at >= timestamptz '2024-03-31 23:00:00+08'"
        " and received_at < timestamptz '2024-04-01 00:00:00+08'"
        " and dispatched_at >= timestamptz '2024-04-01 00:00:00+08'",
    )[0][0]
    assert late > 0
    received_31st = query(
        warehouse,
        "select count(*) from marts.fct_cases where coalesce(status, '') != '不予受理'"
        " and received_at >= timestamptz '2024-03-31 00:00:00+08'"
        " and received_at < timestamptz '2024-04-01 00:00:00+08' and (dispatched_at is not null"
        "   or received_at + interval 24 hour <= timestamptz '2024-04-01 00:00:00+08')",
    )[0][0]
    day = query(
        warehouse,
        "select denominator from marts.fct_case_indicators where indicator = 'dispatch_timely_rate'"
        " and scope = 'all' and grain = 'day' and period = '2024-03-31'",
    )[0][0]
    # the day's as_of is 04-01 00:00: every dispatched case of the 31st (undispatched ones only
    # if received at exactly 00:00:00, their limit then being as_of)
    assert int(day) == received_31st
