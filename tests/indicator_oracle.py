"""An independent reading of ../shared/spec/indicators.md for the case indicators, in plain Python.

Written from the spec text, not from the warehouse's SQL: the tests compare the two. Input: the
latest version of every case (dicts with the case platform's keys; datetimes timezone-aware or
None; booleans as bool) and ``loaded_until``, the newest ``updated_at`` loaded: ``prepare`` makes
both from every version of the cases (typed), ``from_landed`` from the records a night landed
(``raw/cases/*/*/records.jsonl`` of a $MINHU_HOME, as the case platform's API served them).

The spec, and how each phrase is read here (the same readings are documented on
marts.fct_case_indicators; they are choices where the spec is silent):

* P = [start, end) is a local (Asia/Shanghai) calendar day, ISO week (Monday-Sunday), month or
  year. "x in P" compares the instant x with the local start and end of P.
* as_of = min(end, loaded_until). "by as_of" means <= as_of: a time after as_of has not
  happened yet (not dispatched / closed / visited).
* A case's fields are those of its latest version. 不予受理 cases are excluded from every
  indicator except case_count.
* case_count: cases with received_at in P.
* dispatch_timely_rate: received in P and (dispatched -- dispatched_at set in the latest version
  loaded, even if after as_of: "no case may fall out of every period", a case received late on
  P's last day and dispatched after P ends counts in P -- or received_at + limit <= as_of);
  numerator: dispatched_at <= received_at + limit (limit 24 h). This is the one exception to
  "a time after as_of has not happened yet".
* ontime_close_rate: due_at in P and (closed by as_of, or due_at <= as_of); numerator:
  closed_at <= due_at. bizenv_ / key_supervision_done_rate: the same over flagged cases.
* urge_rate: due_at in P, due_at <= as_of and not closed by due_at; numerator: urge_count >= 1.
* satisfaction_rate: visited_at in P (and by as_of) with 满意/基本满意/不满意; numerator: 满意 +
  基本满意.
* close_rate: received in P; numerator: closed by as_of.
* visit_rate: closed_at in P (and by as_of); numerator: visited by as_of.
* A scope is "all", "channel:<x>", "street:<x>" or "handling_unit:<x>".
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
REJECTED = "不予受理"
SATISFIED = frozenset({"满意", "基本满意"})
ANSWERED = SATISFIED | {"不满意"}
DISPATCH_LIMIT = timedelta(hours=24)
CASE_INDICATORS = (
    "case_count",
    "dispatch_timely_rate",
    "ontime_close_rate",
    "urge_rate",
    "satisfaction_rate",
    "bizenv_ontime_close_rate",
    "key_supervision_done_rate",
    "close_rate",
    "visit_rate",
)
SCOPE_KINDS = ("channel", "street", "handling_unit")
TIMES = ("received_at", "dispatched_at", "due_at", "closed_at", "visited_at", "updated_at")
FLAGS = ("is_business_env", "is_key_supervision")


def latest_versions(rows: list[dict]) -> list[dict]:
    """The latest version (by updated_at) of every case_id; of equal ones, the first."""
    latest: dict[str, dict] = {}
    for r in rows:
        if r["case_id"] not in latest or r["updated_at"] > latest[r["case_id"]]["updated_at"]:
            latest[r["case_id"]] = r
    return list(latest.values())


def prepare(rows: list[dict]) -> tuple[list[dict], datetime]:
    """(the latest version of every case, loaded_until = the newest updated_at) of typed versions."""
    return latest_versions(rows), max(r["updated_at"] for r in rows)


def _time(v: str | None) -> datetime | None:
    """An ISO 8601 text as an aware datetime; without an offset it is Asia/Shanghai (sources.md)."""
    if not v:
        return None
    t = datetime.fromisoformat(v)
    # the instant, in UTC: comparisons of datetimes sharing one tzinfo are the fast ones
    return (t if t.tzinfo else t.replace(tzinfo=TZ)).astimezone(UTC)


def typed(record: dict) -> dict:
    """A case record as the API serves it (JSON: ISO 8601 texts, booleans) with datetimes."""
    out = dict(record)
    for k in TIMES:
        out[k] = _time(record.get(k))
    for k in FLAGS:
        if not isinstance(record.get(k), bool | None):
            raise ValueError(f"{k} of {record['case_id']} is not a JSON boolean: {record.get(k)!r}")
        out[k] = bool(record.get(k))
    return out


def landed_records(home: Path) -> list[dict]:
    """Every case record landed under a $MINHU_HOME (raw/cases/<window>/<batch>), as served."""
    return [
        json.loads(line)
        for path in sorted((Path(home) / "raw" / "cases").glob("*/*/records.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def from_landed(home: Path) -> tuple[list[dict], datetime]:
    """prepare() of every case record landed under a $MINHU_HOME, typed."""
    return prepare([typed(r) for r in landed_records(home)])


def period_of(grain: str, d: date) -> str:
    """The label of the period of a local date."""
    if grain == "day":
        return d.isoformat()
    if grain == "week":
        iso = d.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    if grain == "month":
        return f"{d.year}-{d.month:02d}"
    if grain == "year":
        return str(d.year)
    raise ValueError(grain)


def period_dates(grain: str, period: str) -> tuple[date, date]:
    """[first day, first day after) of a period label."""
    if grain == "day":
        d = date.fromisoformat(period)
        return d, d + timedelta(days=1)
    if grain == "week":
        year, week = period.split("-W")
        d = date.fromisocalendar(int(year), int(week), 1)
        return d, d + timedelta(days=7)
    if grain == "month":
        y, m = (int(x) for x in period.split("-"))
        return date(y, m, 1), date(y + m // 12, m % 12 + 1, 1)
    if grain == "year":
        return date(int(period), 1, 1), date(int(period) + 1, 1, 1)
    raise ValueError(grain)


def local_midnight(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=TZ)


def in_scope(case: dict, scope: str) -> bool:
    if scope == "all":
        return True
    kind, value = scope.split(":", 1)
    return case.get(kind) == value


def scopes_of(cases: list[dict]) -> set[str]:
    """Every scope value the cases have."""
    out = {"all"}
    for c in cases:
        for kind in SCOPE_KINDS:
            if c.get(kind):
                out.add(f"{kind}:{c[kind]}")
    return out


def figures(
    cases: list[dict],
    loaded_until: datetime,
    grain: str,
    period: str,
    scope: str = "all",
    dispatch_limit: timedelta = DISPATCH_LIMIT,
) -> dict[str, tuple[int, int | None]]:
    """{indicator: (numerator, denominator)} for one period and scope; case_count's denominator is None."""
    first, after = period_dates(grain, period)
    # the same instants in UTC (see _time)
    start, end = local_midnight(first).astimezone(UTC), local_midnight(after).astimezone(UTC)
    as_of = min(end, loaded_until)

    def in_p(t: datetime | None) -> bool:
        return t is not None and start <= t < end

    def by_as_of(t: datetime | None) -> bool:
        return t is not None and t <= as_of

    mine = [c for c in cases if in_scope(c, scope)]
    valid = [c for c in mine if c["status"] != REJECTED]

    received = [c for c in valid if in_p(c["received_at"])]
    dispatch_d = [
        c for c in received if c["dispatched_at"] is not None or c["received_at"] + dispatch_limit <= as_of
    ]
    dispatch_n = [
        c
        for c in dispatch_d
        if c["dispatched_at"] is not None and c["dispatched_at"] <= c["received_at"] + dispatch_limit
    ]

    due = [c for c in valid if in_p(c["due_at"])]
    ontime_d = [c for c in due if by_as_of(c["closed_at"]) or c["due_at"] <= as_of]

    def on_time(c: dict) -> bool:
        return c["closed_at"] is not None and c["closed_at"] <= c["due_at"]

    urge_d = [c for c in due if c["due_at"] <= as_of and not on_time(c)]
    visited = [c for c in valid if in_p(c["visited_at"]) and by_as_of(c["visited_at"])]
    satisfaction_d = [c for c in visited if c["satisfaction"] in ANSWERED]
    closed = [c for c in valid if in_p(c["closed_at"]) and by_as_of(c["closed_at"])]

    def pair(denominator: list[dict], keep) -> tuple[int, int]:
        return sum(1 for c in denominator if keep(c)), len(denominator)

    biz = [c for c in ontime_d if c["is_business_env"]]
    key = [c for c in ontime_d if c["is_key_supervision"]]
    return {
        "case_count": (sum(1 for c in mine if in_p(c["received_at"])), None),
        "dispatch_timely_rate": (len(dispatch_n), len(dispatch_d)),
        "ontime_close_rate": pair(ontime_d, on_time),
        "urge_rate": pair(urge_d, lambda c: (c["urge_count"] or 0) >= 1),
        "satisfaction_rate": pair(satisfaction_d, lambda c: c["satisfaction"] in SATISFIED),
        "bizenv_ontime_close_rate": pair(biz, on_time),
        "key_supervision_done_rate": pair(key, on_time),
        "close_rate": pair(received, lambda c: by_as_of(c["closed_at"])),
        "visit_rate": pair(closed, lambda c: by_as_of(c["visited_at"])),
    }


def value(indicator: str, numerator: int, denominator: int | None) -> float | None:
    """The figure: the count for case_count, else the ratio, null (None) for an empty denominator."""
    if indicator == "case_count":
        return float(numerator)
    return None if not denominator else numerator / denominator
