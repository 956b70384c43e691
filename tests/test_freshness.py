"""Source freshness: the rules come from the dbt sources yml, the lag is measured at the end of
the business day in a real DuckDB warehouse, a stale source sends one alert email (real SMTP
sink) naming the source and the date, and a night with an empty feed still publishes."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import duckdb
import pytest
from conftest import read_eml, subject_of

from extract.load import ensure_raw
from minhu.calendar import TZ
from pipeline import freshness

pytestmark = pytest.mark.e2e


def test_rules_are_the_dbt_sources_thresholds():
    got = {r.source: r for r in freshness.rules()}
    assert set(got) == {"cases", "payments"}  # budget lines change a few times a year: not judged
    assert got["cases"].warn_after == timedelta(hours=6) and got["cases"].error_after == timedelta(hours=24)
    assert got["payments"].warn_after == timedelta(days=7) and got["payments"].error_after == timedelta(
        days=14
    )
    assert got["cases"].loaded_at_field == "cast(updated_at as timestamptz)"


def warehouse_with(path, rows: dict[str, list[str]]):
    con = duckdb.connect(str(path))
    try:
        ensure_raw(con)
        for source, stamps in rows.items():
            for i, ts in enumerate(stamps):
                con.execute(
                    f"insert into raw.{source} (updated_at, _batch, _row, _loaded_at) values (?, 'b', ?, now())",
                    [ts, i],
                )
    finally:
        con.close()
    return path


def test_lag_is_measured_at_the_end_of_the_business_day(tmp_path):
    path = warehouse_with(
        tmp_path / "w.duckdb",
        {
            # 23:50 Shanghai on 03-09; a record of 03-12 must not count for earlier days
            "cases": ["2024-03-09T10:00:00+08:00", "2024-03-09T15:50:00Z", "2024-03-12T09:00:00+08:00"],
            "payments": ["2024-03-01T10:00:00+08:00"],
        },
    )
    by = lambda d: {r.source: r for r in freshness.measure(path, d)}  # noqa: E731
    day9 = by(date(2024, 3, 9))
    assert (day9["cases"].status, day9["cases"].lag_hours) == ("pass", round(10 / 60, 2))
    assert day9["payments"].status == "warn"  # 8 days 14 h > 7 days
    day10 = by(date(2024, 3, 10))
    assert (day10["cases"].status, day10["cases"].lag_hours) == ("error", 24 + round(10 / 60, 2))
    assert day10["cases"].newest == datetime(2024, 3, 9, 23, 50, tzinfo=TZ).isoformat()
    day20 = by(date(2024, 3, 20))
    assert (
        day20["payments"].status == "error" and day20["payments"].lag_hours == 19 * 24 + 14
    )  # 03-21 00:00 - 03-01 10:00
    # before any record: nothing to be late from
    assert {r.status for r in freshness.measure(path, date(2024, 2, 1))} == {"no data"}


def test_a_stale_source_sends_one_alert_naming_it_and_the_date(home, tmp_path):
    path = warehouse_with(
        tmp_path / "w.duckdb",
        {"cases": ["2024-03-09T23:50:00+08:00"], "payments": ["2024-03-09T11:00:00+08:00"]},
    )
    assert {r.status for r in freshness.check(path, [date(2024, 3, 9)])} == {"pass"}
    assert not (home / "outbox").exists() or not list((home / "outbox").glob("*.eml"))
    # the case feed delivered nothing on 03-10: one alert, naming cases (payments are fine)
    for _ in range(2):  # a re-run of the night does not alert twice
        results = freshness.check(path, [date(2024, 3, 8), date(2024, 3, 10)])
    assert {r.source: r.status for r in results} == {"cases": "error", "payments": "pass"}
    emls = list((home / "outbox").glob("*.eml"))
    assert len(emls) == 1
    msg = read_eml(emls[0])
    assert subject_of(msg) == "【minhu】数据源未更新 2024-03-10: cases"
    assert msg["To"] == "data-engineers@qiaokou-grid.local"
    assert "2024-03-09T23:50:00+08:00" in msg.get_body(("html",)).get_content()
    recorded = json.loads((home / "reports" / "quality" / "freshness.json").read_text())
    assert {r["source"]: r["status"] for r in recorded} == {"cases": "error", "payments": "pass"}


def test_a_night_with_an_empty_finance_feed_alerts_and_still_publishes(home):
    from pipeline import nightly
    from pipeline.indicators import fetch

    nightly.run(date(2024, 3, 8))
    # 2024-03-24: the finance system delivers no payment; the newest loaded is of 03-08
    out = nightly.run(date(2024, 3, 24))
    assert out["landed"]["payments"] == 0 and out["landed"]["cases"] > 0
    landing = next((home / "raw" / "payments" / "2024-03-08").iterdir()) / "records.jsonl"
    newest = max(
        datetime.fromisoformat(json.loads(line)["updated_at"]) for line in landing.read_text().splitlines()
    )
    subjects = sorted(subject_of(read_eml(p)) for p in (home / "outbox").glob("*.eml"))
    assert subjects == [
        "【minhu】数据源未更新 2024-03-24: payments",
        "【硚口区网格中心】群众诉求日报 2024年3月24日",
        "【硚口区网格中心】群众诉求日报 2024年3月8日",
    ]
    alert = next(read_eml(p) for p in (home / "outbox").glob("*.eml") if "数据源" in subject_of(read_eml(p)))
    assert newest.astimezone(TZ).isoformat() in alert.get_body(("html",)).get_content()
    # not blocked: the night's build, empty payments window included, is the published warehouse
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        published = con.execute(
            "select source, landed_count from raw.landings where business_date = '2024-03-24' order by source"
        ).fetchall()
    finally:
        con.close()
    assert dict(published)["payments"] == 0 and dict(published)["cases"] == out["landed"]["cases"]
    assert fetch("day", "2024-03-24")[0]["period"] == "2024-03-24"
