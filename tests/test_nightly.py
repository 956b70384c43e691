"""The nightly pipeline end to end on real parts: simulators over HTTP, DuckDB, dbt, GX, SMTP."""

from __future__ import annotations

import json
from datetime import date, datetime

import duckdb
import pytest
from conftest import PUBLISHED_DAY, copy_home, read_eml, subject_of

from minhu.calendar import TZ
from pipeline import nightly
from pipeline.indicators import fetch

pytestmark = pytest.mark.e2e

DAY = date(2024, 3, 1)
assert DAY == PUBLISHED_DAY


def expected_day_figures(landed: list[dict]) -> dict:
    """An independent reading of indicators.md on the landed records of one day."""
    latest: dict[str, dict] = {}
    for r in landed:
        if r["case_id"] not in latest or r["updated_at"] > latest[r["case_id"]]["updated_at"]:
            latest[r["case_id"]] = r
    ts = lambda v: datetime.fromisoformat(v) if v else None  # noqa: E731
    loaded_until = max(ts(r["updated_at"]) for r in landed)
    as_of = min(datetime(2024, 3, 2, tzinfo=TZ), loaded_until)
    received = [c for c in latest.values() if ts(c["received_at"]).astimezone(TZ).date() == DAY]
    due = [
        c
        for c in latest.values()
        if c["due_at"] and ts(c["due_at"]).astimezone(TZ).date() == DAY and c["status"] != "不予受理"
    ]
    denominator = [
        c for c in due if (c["closed_at"] and ts(c["closed_at"]) <= as_of) or ts(c["due_at"]) <= as_of
    ]
    numerator = [c for c in denominator if c["closed_at"] and ts(c["closed_at"]) <= ts(c["due_at"])]
    return {"case_count": len(received), "ontime": (len(numerator), len(denominator))}


def test_run_lands_builds_gates_publishes_and_reports(home):
    out = nightly.run(DAY)

    manifest_dirs = sorted((home / "raw" / "cases" / DAY.isoformat()).iterdir())
    assert len(manifest_dirs) == 1
    manifest = json.loads((manifest_dirs[0] / "manifest.json").read_text())
    landed = [json.loads(line) for line in (manifest_dirs[0] / "records.jsonl").read_text().splitlines()]
    assert manifest["count"] == manifest["source_count"] == len(landed) == out["landed"]["cases"] > 0
    assert {"window", "checksum", "extracted_at"} <= set(manifest)

    figures = {r["indicator"]: r for r in fetch("day", DAY.isoformat())}
    want = expected_day_figures(landed)
    assert figures["case_count"]["numerator"] == figures["case_count"]["value"] == want["case_count"]
    ontime = figures["ontime_close_rate"]
    assert (ontime["numerator"], ontime["denominator"]) == want["ontime"]
    assert ontime["value"] == want["ontime"][0] / want["ontime"][1]

    emls = list((home / "outbox").glob("*.eml"))
    assert len(emls) == 1
    msg = read_eml(emls[0])
    assert subject_of(msg) == "【硚口区网格中心】群众诉求日报 2024年3月1日"
    html = msg.get_body(("html",)).get_content()
    assert f"<b>{want['case_count']:,}</b>" in html
    for field in ("citizen_name", "citizen_phone", "address"):
        assert all(r[field] not in html for r in landed if r[field])


def test_rerunning_a_day_lands_nothing_new_sends_nothing_and_keeps_the_warehouse(published_day, home):
    # DAY already published once (the session's night, no report); this run re-runs it and sends
    copy_home(published_day, home)
    nightly.run(DAY)
    assert len(list((home / "outbox").glob("*.eml"))) == 1
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    before = con.execute("select count(*), sum(hash(case_id || status)) from marts.fct_cases").fetchone()
    con.close()
    nightly.run(DAY)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    after = con.execute("select count(*), sum(hash(case_id || status)) from marts.fct_cases").fetchone()
    raw = con.execute("select count(*) from raw.cases").fetchone()[0]
    con.close()
    assert before == after
    assert (
        raw
        == json.loads(next((home / "raw/cases/2024-03-01").iterdir()).joinpath("manifest.json").read_text())[
            "count"
        ]
    )
    assert len(list((home / "raw" / "cases" / DAY.isoformat()).iterdir())) == 1
    assert len(list((home / "outbox").glob("*.eml"))) == 1


def test_personal_data_stops_at_staging(published_day):
    con = duckdb.connect(str(published_day / "warehouse.duckdb"), read_only=True)
    cols = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where table_schema in ('staging', 'intermediate', 'marts')"
    ).fetchall()
    masked = con.execute(
        "select count(*) from staging.stg_platform__cases where regexp_matches(content_masked, '1[3-9]\\d{9}')"
    ).fetchone()[0]
    con.close()
    assert not [c for c in cols if c[2] in ("citizen_name", "citizen_phone", "address", "content")]
    assert masked == 0
