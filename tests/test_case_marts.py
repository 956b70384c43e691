"""The case side of the warehouse: dimensions, fct_cases, the status history, incremental runs.

Simulator days are loaded into scratch warehouses with extract.load.load_day_file and built with
pipeline.transform.dbt (only the case models: the budget side has its own tests).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from extract.load import load_day_file
from minhu import warehouse
from minhu.schemas import CASE_FIELDS
from pipeline.transform import dbt
from simulators import case_data

pytestmark = pytest.mark.dbt

DISTRICT = "硚口区"
DAYS = [date(2024, 2, 1) + timedelta(days=i) for i in range(7)]  # 2024-02-04 is a 调休 Sunday
FIRST_BUILD = DAYS[:5]
# the case marts and everything upstream of them (seeds, staging): the budget side has its own tests
CASE_MODELS = (
    "+fct_case_indicators +dim_calendar +dim_channel +dim_case_type +dim_category +dim_grid +dim_street "
    "+dim_handling_unit"
)
MART_TABLES = (
    "fct_case_events",
    "fct_cases",
    "fct_case_indicators",
    "dim_calendar",
    "dim_channel",
    "dim_case_type",
    "dim_category",
    "dim_grid",
    "dim_street",
    "dim_handling_unit",
)
LINEAGE = {"_loaded_at", "_case_loaded_at"}  # load times: differ between two warehouses
PERSONAL = [f.key for f in CASE_FIELDS if f.personal]

# 国务院办公厅关于2024年部分节假日安排的通知: the weekdays off and the weekend days worked (调休)
HOLIDAYS_2024 = {date(2024, 1, 1), date(2024, 4, 4), date(2024, 4, 5), date(2024, 6, 10)}
HOLIDAYS_2024 |= {date(2024, 2, d) for d in range(12, 17)} | {date(2024, 5, d) for d in (1, 2, 3)}
HOLIDAYS_2024 |= {date(2024, 9, 16), date(2024, 9, 17)} | {date(2024, 10, d) for d in (1, 2, 3, 4, 7)}
MAKEUP_2024 = {date(2024, 2, 4), date(2024, 2, 18), date(2024, 4, 7), date(2024, 4, 28), date(2024, 5, 11)}
MAKEUP_2024 |= {date(2024, 9, 14), date(2024, 9, 29), date(2024, 10, 12)}


def write_day(folder: Path, d: date, drop=lambda r: False) -> Path:
    path = folder / f"{d.isoformat()}-{hashlib.md5(repr(drop).encode()).hexdigest()[:6]}.jsonl"
    rows = [r for r in case_data.case_versions(DISTRICT, d) if not drop(r)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def load(wh: Path, batches: list[tuple[date, Path]]) -> None:
    con = warehouse.connect(wh)
    try:
        for d, path in batches:
            load_day_file(con, "cases", d, path)
    finally:
        con.close()


def build(wh: Path, command: str = "run", *extra: str) -> None:
    # cautious: a test of a budget model that also reads a selected seed (value_sets) is not selected
    dbt([command, "--select", *CASE_MODELS.split(), "--indirect-selection", "cautious", *extra], wh)


def rows(wh: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        con.execute("set timezone = 'Asia/Shanghai'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def versions(days: list[date]) -> list[dict]:
    return [r for d in days for r in case_data.case_versions(DISTRICT, d)]


def ts(v: str | None) -> datetime | None:
    return None if v is None else datetime.fromisoformat(v)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("case_marts")
    mp.setenv("MINHU_HOME", str(root / "home"))
    folder = root / "landings"
    folder.mkdir()
    yield root, folder
    mp.undo()


@pytest.fixture(scope="module")
def first(env):
    """Days 1-5 loaded and built (dbt build: models and their data tests)."""
    root, folder = env
    wh = root / "first.duckdb"
    load(wh, [(d, write_day(folder, d)) for d in FIRST_BUILD])
    build(wh, "build", "--exclude", "test_type:unit")
    return wh


# --------------------------------------------------------------------------------------- dimensions


def test_dim_calendar_follows_the_state_council_calendar(first):
    cal = {
        r[0]: r[1:]
        for r in rows(
            first,
            "select date_day, is_working_day, is_holiday, holiday_name, is_makeup_workday, week_label"
            " from marts.dim_calendar",
        )
    }
    assert min(cal) <= date(2020, 1, 1) and max(cal) >= date(2026, 12, 31)
    assert len(cal) == (max(cal) - min(cal)).days + 1
    assert cal[date(2024, 2, 4)][:4] == (True, False, "春节", True)  # a Sunday worked (调休)
    assert cal[date(2024, 10, 1)][:3] == (False, True, "国庆节")
    assert cal[date(2024, 3, 2)][:4] == (False, False, None, False)  # a plain Saturday
    assert cal[date(2024, 12, 30)][4] == "2025-W01"
    # every day of 2024, against the State Council's 2024 notice written out by hand (not the
    # chinese-calendar package the model is built from)
    d = date(2024, 1, 1)
    while d <= date(2024, 12, 31):
        want = d in MAKEUP_2024 or (d.weekday() < 5 and d not in HOLIDAYS_2024)
        assert cal[d][0] is want, d
        d += timedelta(days=1)
    assert sum(cal[date(2024, 1, 1) + timedelta(days=i)][0] for i in range(366)) == 251


def test_dims_of_types_channels_categories_and_places(first):
    # docs: sources.md, "Time limits" and the channel enum (written here, not imported)
    assert dict(rows(first, "select case_type, time_limit_working_days from marts.dim_case_type")) == {
        "咨询": 3,
        "求助": 5,
        "建议": 5,
        "表扬": 5,
        "投诉": 10,
        "举报": 10,
    }
    assert sorted(r[0] for r in rows(first, "select channel from marts.dim_channel")) == sorted(
        (
            "12345热线",
            "城市留言板",
            "区委书记留言板",
            "媒体曝光",
            "网上投诉",
            "12319数字城管",
            "上级转办",
            "领导批示",
        )
    )
    assert {r["channel"] for r in versions(FIRST_BUILD)} <= {
        r[0] for r in rows(first, "select channel from marts.dim_channel")
    }

    seen = {r["category"] for r in versions(FIRST_BUILD)}
    cats = rows(
        first, "select category_key, category, level_1, level_2, level_3, level_count from marts.dim_category"
    )
    assert {c[1] for c in cats} == seen
    for key, path, *levels, level_count in cats:
        assert key == hashlib.md5(path.encode()).hexdigest()[:16]
        assert levels == path.split("/") and level_count == 3
    orphans = rows(
        first,
        "select count(*) from marts.fct_cases c anti join marts.dim_category d using (category_key)"
        " where c.category is not null",
    )
    assert orphans == [(0,)]

    dist = case_data.district(DISTRICT)
    kinds = dict(rows(first, "select handling_unit, unit_kind from marts.dim_handling_unit"))
    streets_of = dict(rows(first, "select handling_unit, street from marts.dim_handling_unit"))
    assert set(kinds) <= set(dist.handling_units)
    for s in dist.streets:
        if s.office in kinds:
            assert (kinds[s.office], streets_of[s.office]) == ("street_office", s.name)
    for u in case_data.UTILITIES.values():
        assert kinds.get(u, "utility") == "utility"
    for suffix in case_data.DEPARTMENTS.values():
        assert kinds.get(DISTRICT + suffix, "department") == "department"
    assert "other" not in kinds.values()

    grid_truth = {(r["grid_id"], r["community"], r["street"]) for r in versions(FIRST_BUILD)}
    grids = rows(first, "select grid_id, community, street from marts.dim_grid")
    assert set(grids) == grid_truth and len(grids) == len({g[0] for g in grid_truth})
    streets = rows(first, "select street, street_office, district from marts.dim_street")
    assert {s[0] for s in streets} == {g[2] for g in grid_truth}
    assert all(office == street + "办事处" and d == DISTRICT for street, office, d in streets)


# --------------------------------------------------------------------------------------- facts


def test_fct_cases_is_one_row_per_case_with_its_latest_version(first):
    latest: dict[str, dict] = {}
    for r in versions(FIRST_BUILD):
        if r["case_id"] not in latest or ts(r["updated_at"]) > ts(latest[r["case_id"]]["updated_at"]):
            latest[r["case_id"]] = r
    got = {
        r[0]: r[1:]
        for r in rows(
            first,
            "select case_id, status, updated_at, dispatched_at, due_at, closed_at, visited_at, urge_count,"
            " handling_unit, satisfaction, is_business_env, is_key_supervision, version_count from marts.fct_cases",
        )
    }
    assert len(got) == len(latest)
    n_versions: dict[str, int] = {}
    for r in versions(FIRST_BUILD):
        n_versions[r["case_id"]] = n_versions.get(r["case_id"], 0) + 1
    for cid, r in latest.items():
        want = (
            r["status"],
            ts(r["updated_at"]),
            ts(r["dispatched_at"]),
            ts(r["due_at"]),
            ts(r["closed_at"]),
            ts(r["visited_at"]),
            r["urge_count"],
            r["handling_unit"],
            r["satisfaction"],
            r["is_business_env"],
            r["is_key_supervision"],
            n_versions[cid],
        )
        assert got[cid] == want, cid


def test_fct_case_events_is_the_status_history(first):
    by_case: dict[str, list[dict]] = {}
    for r in versions(FIRST_BUILD):
        by_case.setdefault(r["case_id"], []).append(r)
    events: dict[str, list[tuple]] = {}
    for r in rows(
        first,
        "select case_id, version_seq, updated_at, status, previous_status, transition, event_type, urge_count,"
        " is_latest, valid_to from marts.fct_case_events order by case_id, version_seq",
    ):
        events.setdefault(r[0], []).append(r[1:])
    assert events.keys() == by_case.keys()
    for cid, vs in by_case.items():
        vs.sort(key=lambda v: ts(v["updated_at"]))
        got = events[cid]
        assert [g[0] for g in got] == list(range(1, len(vs) + 1))
        assert [(g[1], g[2], g[6]) for g in got] == [
            (ts(v["updated_at"]), v["status"], v["urge_count"]) for v in vs
        ]
        prev = [None] + [v["status"] for v in vs[:-1]]
        assert [g[3] for g in got] == prev
        for g, p, v in zip(got, prev, vs, strict=True):
            if p is None:
                assert (g[4], g[5]) == ("∅→" + v["status"], "created")
            elif p != v["status"]:
                assert (g[4], g[5]) == (f"{p}→{v['status']}", "status_change")
            else:
                assert g[4] is None and g[5] in ("urged", "updated")
        assert [g[7] for g in got] == [False] * (len(vs) - 1) + [True]
        assert [g[8] for g in got] == [g[1] for g in got[1:]] + [None]
    full = [c for c, vs in by_case.items() if [v["status"] for v in vs][:2] == ["已受理", "已派单"]]
    assert len(full) > 1000  # cases received within the days loaded have their whole story


# --------------------------------------------------------------------------------------- incremental


def _table(wh: Path, table: str, exclude: set[str] = frozenset()) -> list[tuple]:
    cols = [
        r[0]
        for r in rows(
            wh,
            "select column_name from information_schema.columns where table_schema = 'marts'"
            " and table_name = ? order by ordinal_position",
            [table],
        )
        if r[0] not in exclude
    ]
    return rows(wh, f"select {', '.join(cols)} from marts.{table} order by all")


def test_incremental_runs_equal_a_full_refresh_and_a_fresh_warehouse(env, first):
    root, folder = env
    # the cases whose last version is on day 5: X keeps earlier versions, Y has nothing else
    day5 = case_data.case_versions(DISTRICT, DAYS[4])
    later = {r["case_id"] for d in DAYS[5:] for r in case_data.case_versions(DISTRICT, d)}
    earlier = {r["case_id"] for r in versions(DAYS[:4])}
    last_on_5 = {r["case_id"]: r for r in day5}  # sorted by updated_at: the last one wins
    x = next(c for c in sorted(last_on_5) if c in earlier and c not in later)
    y = next(c for c in sorted(last_on_5) if c not in earlier and c not in later)
    x_last = last_on_5[x]["updated_at"]

    def corrected(r: dict) -> bool:  # the platform's re-sent day 5: X's last version and Y gone
        return (r["case_id"] == x and r["updated_at"] == x_last) or r["case_id"] == y

    final_batches = [(d, write_day(folder, d)) for d in DAYS[:4] + DAYS[5:]] + [
        (DAYS[4], write_day(folder, DAYS[4], corrected))
    ]

    # a long-lived warehouse: days 1-5 built, then days 6-7, day 4 again (same) and day 5 corrected
    inc = root / "incremental.duckdb"
    shutil.copyfile(first, inc)
    reloaded = [b for b in final_batches if b[0] in (DAYS[3], DAYS[4], DAYS[5], DAYS[6])]
    load(inc, reloaded)
    build(inc)
    # only the cases of the re-loaded batches were rewritten: the others keep their rows
    touched = {json.loads(line)["case_id"] for _, p in reloaded for line in p.open(encoding="utf-8")} | {x, y}
    latest = "select case_id, _loaded_at from marts.fct_case_events where is_latest"
    before, after = dict(rows(first, latest)), dict(rows(inc, latest))
    kept = set(before) - touched
    assert len(kept) > 1000 and all(after[c] == before[c] for c in kept)
    assert all(after[c] > max(before.values()) for c in touched - {x, y})
    # the same raw rows, every model rebuilt from scratch
    full = root / "full_refresh.duckdb"
    shutil.copyfile(inc, full)
    build(full, "run", "--full-refresh")
    # a fresh warehouse loading the final batches in another order
    fresh = root / "fresh.duckdb"
    load(fresh, list(reversed(final_batches)))
    build(fresh, "build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")

    # the same incremental run with the touched cases as a semi-join, not a list of constants
    # (fct_case_events inlines at most var touched_inline_limit ids: a large import joins)
    joined = root / "incremental_joined.duckdb"
    shutil.copyfile(first, joined)
    load(joined, reloaded)
    build(joined, "run", "--vars", '{"touched_inline_limit": 0}')

    for table in MART_TABLES:
        assert _table(inc, table) == _table(full, table), table
        assert _table(inc, table, LINEAGE) == _table(fresh, table, LINEAGE), table
        assert _table(joined, table, LINEAGE) == _table(inc, table, LINEAGE), table

    got_x = rows(inc, "select updated_at, version_count from marts.fct_cases where case_id = ?", [x])
    assert got_x and got_x[0][0] < ts(x_last)
    for table in ("fct_cases", "fct_case_events"):
        assert rows(inc, f"select count(*) from marts.{table} where case_id = ?", [y]) == [(0,)]
    n_cases = len({r["case_id"] for r in versions(DAYS)} - {y})
    assert rows(inc, "select count(*) from marts.fct_cases") == [(n_cases,)]


def _late_batch(folder: Path, name: str, changes: list[dict]) -> Path:
    path = folder / f"late-{name}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in changes), encoding="utf-8")
    return path


def test_incremental_indicators_equal_a_full_refresh_over_nightly_loads_and_late_updates(env, first):
    """fct_case_indicators recomputes only affected periods, yet equals a full refresh and a fresh
    warehouse after each of: a new day, a late update of old cases (one's due_at moves to another
    week, one's closed_at is set in an old period, one's due_at moves past every day loaded), and
    another new day."""
    root, folder = env
    last = {r["case_id"]: r for r in versions(FIRST_BUILD)}  # the latest version of each case
    old = sorted(
        (r for r in last.values() if r["due_at"] and not r["closed_at"] and r["status"] != "不予受理"),
        key=lambda r: r["received_at"],
    )
    a, b, c = old[0], old[1], old[2]
    stamp = (max(ts(r["updated_at"]) for r in versions(DAYS[:6])) + timedelta(minutes=1)).isoformat()
    moved_due = (ts(a["due_at"]) - timedelta(days=7)).isoformat()
    closed_old = (ts(b["received_at"]) + timedelta(hours=3)).isoformat()
    beyond = (ts(c["due_at"]) + timedelta(days=60)).isoformat()
    late = _late_batch(
        folder,
        "1",
        [
            {**a, "due_at": moved_due, "updated_at": stamp},
            {**b, "closed_at": closed_old, "status": "已办结", "updated_at": stamp},
            {**c, "due_at": beyond, "updated_at": stamp},
        ],
    )
    steps = [(DAYS[5], write_day(folder, DAYS[5])), (DAYS[5], late), (DAYS[6], write_day(folder, DAYS[6]))]

    inc = root / "indicators_incremental.duckdb"
    shutil.copyfile(first, inc)
    for i, step in enumerate(steps):
        load(inc, [step])
        before = rows(inc, "select max(rowid) from marts.fct_case_indicators")[0][0]
        build(inc)
        rewritten = set(
            rows(
                inc, "select distinct grain, period from marts.fct_case_indicators where rowid > ?", [before]
            )
        )
        periods = set(rows(inc, "select distinct grain, period from marts.fct_case_indicators"))
        if i == 1:
            # the late update: the old and new weeks of A's due day, B's received day, C's far day
            for t in (a["due_at"], moved_due, closed_old, beyond):
                d = ts(t).date()
                assert ("day", d.isoformat()) in rewritten, t
                assert ("week", f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}") in rewritten, t
            assert len(rewritten) < len(periods)  # not everything was recomputed
        full = root / f"indicators_full_{i}.duckdb"
        shutil.copyfile(inc, full)
        build(full, "run", "--full-refresh")
        for table in ("fct_cases", "fct_case_indicators"):
            assert _table(inc, table) == _table(full, table), (i, table)
    fresh = root / "indicators_fresh.duckdb"
    load(fresh, [(d, write_day(folder, d)) for d in FIRST_BUILD] + steps)
    build(fresh, "build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")
    for table in ("fct_cases", "fct_case_indicators"):
        assert _table(inc, table, LINEAGE) == _table(fresh, table, LINEAGE), table
    # the late versions won, and the figures saw them: C's due day now exists as a period
    got = rows(inc, "select due_at from marts.fct_cases where case_id = ?", [c["case_id"]])
    assert got == [(ts(beyond),)]
    d = ts(beyond).date().isoformat()
    assert rows(
        inc,
        "select numerator, denominator from marts.fct_case_indicators"
        " where indicator = 'ontime_close_rate' and grain = 'day' and period = ? and scope = 'all'",
        [d],
    ) == [(0, 0)]


# --------------------------------------------------------------------------------------- personal data


def test_personal_data_is_absent_from_staging_and_marts(first):
    cols = rows(
        first,
        "select table_schema, table_name, column_name, data_type from information_schema.columns"
        " where table_schema in ('staging', 'intermediate', 'marts')",
    )
    names = {c[2] for c in cols}
    assert not names & {*PERSONAL, "content"}
    people = {
        r[k] for r in versions(FIRST_BUILD) for k in ("citizen_name", "citizen_phone", "address") if r[k]
    }
    texts = {r["content"] for r in versions(FIRST_BUILD) if r["content"]}
    phone = re.compile(r"1[3-9]\d{9}")
    for schema, table, column, dtype in cols:
        if dtype != "VARCHAR" or not table.startswith(("stg_platform", "fct_case", "dim_")):
            continue
        values = [v for (v,) in rows(first, f'select distinct "{column}" from {schema}.{table}') if v]
        assert not people & set(values), (table, column)
        if schema != "staging":  # staging keeps the masked free text (content_masked); marts none
            assert not texts & set(values), (table, column)
        assert not [v for v in values if phone.search(v)], (table, column)
