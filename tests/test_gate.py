"""The quality gate stops publication: each kind of corrupted input, on the real pipeline.

One good night (DAY) is published once for the module; each test copies that $MINHU_HOME,
lands the next night (NEXT), corrupts what was landed as a faulty source or a lossy landing
would, and runs the real nightly pipeline: extract (which reuses the landing: same checksum),
load, dbt build, the GX gate. The gate must stop publication naming the right expectation,
leave the published warehouse byte for byte as it was, send no 日报 and email the data
engineers an alert naming the failed expectation.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
import threading
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import home_env, read_eml, set_home_env, subject_of

from extract import land
from minhu.schemas import keys
from pipeline import nightly
from pipeline.cli import main

pytestmark = pytest.mark.e2e

PUBLISHED = Path(__file__).resolve().parent / "data" / "published_budget_118001_2024.csv"
DAY = date(2024, 3, 11)  # a Monday with payments (salaries)
NEXT = date(2024, 3, 12)  # the night whose landing the tests corrupt
ALERT_TO = "data-engineers@qiaokou-grid.local"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, sources_url, smtp_port):
    """A $MINHU_HOME with DAY published (and its 日报 sent) and NEXT landed, not yet loaded."""
    home = tmp_path_factory.mktemp("gate") / "home"
    with home_env(home, sources_url, smtp_port):
        assert main(["import", "published-budget", str(PUBLISHED)]) == 0  # the gate checks them
        out = nightly.run(DAY)
        nightly.extract([NEXT])
    assert out["gate"].endswith("0 errors, 0 warnings"), out["gate"]
    return home


@pytest.fixture
def night(baseline, tmp_path, monkeypatch, sources_url, smtp_port) -> Path:
    home = tmp_path / "home"
    shutil.copytree(baseline, home, ignore=shutil.ignore_patterns("*.lock"))
    set_home_env(monkeypatch, home, sources_url, smtp_port)
    return home


# ------------------------------------------------------------------------------------ helpers


def landing(source: str) -> land.Manifest:
    m = land.latest_landing(source, NEXT)
    assert m is not None
    return m


def read_records(source: str) -> list[dict]:
    return [
        json.loads(line) for line in landing(source).records_path.read_text(encoding="utf-8").splitlines()
    ]


def write_records(source: str, records: list[dict], *, as_counted_by_source: bool) -> None:
    """Rewrite NEXT's landed records. as_counted_by_source: the source itself sent (and counted)
    these records, so the manifest's counts follow; otherwise records were lost or doubled
    after the landing and the manifest keeps what the source counted."""
    m = landing(source)
    m.records_path.write_text(
        "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records), encoding="utf-8"
    )
    if as_counted_by_source:
        path = Path(m.path) / "manifest.json"
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["count"] = manifest["source_count"] = len(records)
        path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def emails(home: Path) -> set[Path]:
    return set((home / "outbox").glob("*.eml"))


class Stopped:
    """What a stopped run left: the failed and warned labels, the error text and the alert."""

    def __init__(self, gate: dict, text: str, alert: str) -> None:
        self.errors = gate["failed_errors"]
        self.warnings = gate["failed_warnings"]
        self.text = text
        self.alert = alert


def assert_stopped(home: Path, cli=None) -> Stopped:
    """Run NEXT (nightly.run, or `minhu run` through the CLI); the gate must fail, nothing be
    published or reported, and the data engineers get one alert."""
    published = home / "warehouse.duckdb"
    before, sent_before = checksum(published), emails(home)
    if cli is None:
        with pytest.raises(nightly.GateFailed) as caught:
            nightly.run(NEXT)
        text = str(caught.value)
    else:
        assert main(["run", "--date", NEXT.isoformat()]) == 1
        text = cli.readouterr().err
        assert text.startswith("minhu: quality gate failed, nothing published")
    assert checksum(published) == before, "the published warehouse changed"
    con = duckdb.connect(str(published), read_only=True)
    try:
        newest = con.execute("select max(business_date) from raw.landings where kind = 'api'").fetchone()[0]
    finally:
        con.close()
    assert newest == DAY
    new = [read_eml(p) for p in emails(home) - sent_before]
    assert len(new) == 1, [subject_of(m) for m in new]
    assert new[0]["To"] == ALERT_TO
    assert "质量门禁未通过" in subject_of(new[0])
    assert not (home / "reports" / "daily" / NEXT.isoformat()).exists()
    gate = json.loads((home / "reports" / "quality" / "last_gate.json").read_text(encoding="utf-8"))
    assert gate["passed"] is False and gate["target"] == "build" and gate["errors"] > 0
    alert = html.unescape(new[0].get_body(("html",)).get_content())
    for label in gate["failed_errors"]:
        assert label in text and label in alert
    return Stopped(gate, text, alert)


# -------------------------------------------------------------------------------------- tests


def test_a_dropped_record_stops_publication(night):
    records = read_records("cases")
    write_records("cases", records[:100] + records[101:], as_counted_by_source=False)

    got = assert_stopped(night)

    labels = got.errors
    assert (
        "cases.cases_accounting: every row read is accounted for (loaded + superseded + quarantined = read)"
        in labels
    )
    assert "raw_landing.landings: rows loaded into raw = records landed (per batch)" in labels
    assert "every row read is accounted for" in got.alert
    assert f"api/cases/{NEXT.isoformat()}" in got.text  # the batch is named


def test_a_duplicated_record_stops_publication(night):
    records = read_records("cases")
    doubled = records[7]
    write_records("cases", [*records[:8], doubled, *records[8:]], as_counted_by_source=False)

    got = assert_stopped(night)

    assert (
        "raw_landing.cases_unique_versions: cases: unique (id, updated_at) per source and window"
        in got.errors
    )
    assert doubled["case_id"] in got.text
    assert "unique (id, updated_at)" in got.alert


def test_a_payment_to_a_missing_line_stops_publication(night):
    payments = read_records("payments")
    orphan = {
        **payments[0],
        "payment_id": "ZF2024031299999",
        "fund_source": "政府性基金预算",
        "amount": "1200.00",
    }
    write_records("payments", [*payments, orphan], as_counted_by_source=True)

    got = assert_stopped(night)

    assert got.errors == ["budget.payment_lines: every payment is against an existing budget line"]
    assert "ZF2024031299999" in got.text
    assert "every payment is against an existing budget line" in got.alert


def test_a_line_the_published_tables_lack_stops_publication_its_unseen_code_does_not(night):
    lines = read_records("budget_lines")
    base = next(r for r in lines if r["function_code"] == "2010350" and r["economic_code"] == "30201")
    stray = {**base, "function_code": "2019999", "function_name": None, "initial_amount": "5000.00",
             "adjusted_amount": "5000.00"}  # fmt: skip
    write_records("budget_lines", [*lines, stray], as_counted_by_source=True)

    got = assert_stopped(night)

    # the published 2024 tables no longer reproduce: 一般公共服务支出 grew by 0.50 万元
    assert got.errors == [
        "budget.published_tables: published tables reproduced (±0.01 万元 a row, 元 exact; any unit and year)"
    ]
    # the code nothing names is a warning listing it; the hierarchies (by code prefix) still add up
    assert got.warnings == [
        "budget.classification_names: every classification code in use has a name (reference seed or the line)"
    ]
    assert "科目 2019999" in got.text
    assert "published tables reproduced" in got.alert


def test_times_out_of_order_stop_publication_and_minhu_run_exits_non_zero(night, capsys):
    records = read_records("cases")
    # the latest version of a case, closed: its closed_at goes before its received_at
    latest: dict[str, dict] = {}
    for r in records:
        if r["case_id"] not in latest or r["updated_at"] > latest[r["case_id"]]["updated_at"]:
            latest[r["case_id"]] = r
    con = duckdb.connect(str(night / "warehouse.duckdb"), read_only=True)
    known = {r[0] for r in con.execute("select case_id from marts.fct_cases").fetchall()}
    con.close()
    victim = next(r for r in latest.values() if r["closed_at"] and r["case_id"] not in known)
    victim["closed_at"] = "2024-03-01T08:00:00+08:00"
    assert victim["closed_at"] < victim["received_at"]
    write_records("cases", records, as_counted_by_source=False)

    got = assert_stopped(night, cli=capsys)

    assert (
        "cases.timestamps_in_order: timestamps in order (received ≤ dispatched ≤ closed ≤ visited): received ≤ closed"
        in got.errors
    )
    assert all(label.startswith("cases.timestamps_in_order") for label in got.errors)
    assert victim["case_id"] in got.text and victim["case_id"] in got.alert


def test_a_unit_overspending_its_budget_stops_publication(night):
    payments = read_records("payments")
    huge = {**payments[0], "payment_id": "ZF2024031288888", "amount": "90000000.00", "summary": "误录金额"}
    write_records("payments", [*payments, huge], as_counted_by_source=True)

    got = assert_stopped(night)

    assert got.errors == ["budget.per_unit: executed ≤ adjusted budget per unit"]
    warned = got.warnings
    # the line overspends too, but a line is a warning: only the unit stops publication
    assert "budget.per_line: executed ≤ adjusted budget per line" in warned
    assert "118001" in got.text
    assert "executed ≤ adjusted budget per unit" in got.alert


def test_minhu_check_audits_the_published_warehouse(night, capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "0 errors, 0 warnings" in out
    assert "data docs:" in out
    sent = emails(night)

    con = duckdb.connect(str(night / "warehouse.duckdb"))
    case_id = con.execute(
        "update marts.fct_cases set visited_at = received_at - interval 1 day"
        " where case_id = (select min(case_id) from marts.fct_cases where visited_at is not null) returning case_id"
    ).fetchone()[0]
    con.close()

    assert main(["check"]) == 1
    err = capsys.readouterr().err
    assert "timestamps in order (received ≤ dispatched ≤ closed ≤ visited): received ≤ visited" in err
    assert case_id in err
    assert emails(night) == sent  # `minhu check` reports; it does not page anyone


def test_minhu_check_takes_the_warehouse_lease(night, capsys, monkeypatch):
    """`minhu check` rewrites reports/quality/ as a writer's gate does, so it holds the lease
    too: with another run holding it, it waits and then fails (exit 5) writing nothing; when
    the other run releases, it goes on, holding the lease (kind check) while it writes."""
    from minhu import lease as leases
    from pipeline import quality

    last_gate = night / "reports" / "quality" / "last_gate.json"
    before = last_gate.read_bytes()
    holder = leases.acquire("nightly-20240312T020000-1-abcd", "nightly")
    try:
        monkeypatch.setenv("MINHU_LEASE_WAIT", "1")
        assert main(["check"]) == 5
        err = capsys.readouterr().err
        assert "waiting for run nightly-20240312T020000-1-abcd" in err
        assert "minhu: the warehouse is busy" in err and "Traceback" not in err
        assert last_gate.read_bytes() == before

        owners = []
        record = quality.record
        monkeypatch.setattr(
            quality, "record", lambda *a, **k: owners.append(leases.read_owner()) or record(*a, **k)
        )
        monkeypatch.setenv("MINHU_LEASE_WAIT", "120")
        releasing = threading.Timer(1.5, holder.release)
        releasing.start()
        assert main(["check"]) == 0
        releasing.join()
    finally:
        holder.release()
    captured = capsys.readouterr()
    assert "waiting for run nightly-20240312T020000-1-abcd" in captured.err
    assert "0 errors, 0 warnings" in captured.out
    assert [o.kind for o in owners] == ["check"] and owners[0].run_id.startswith("check-")
    assert json.loads(last_gate.read_text(encoding="utf-8"))["target"] == "published"
    assert not (night / ".warehouse.lease").exists()


# ------------------------------------------------------------------------- raw contract checks


def test_raw_records_that_break_the_contract_are_named_by_batch_and_field(tmp_path):
    """The raw_landing suite alone, on a hand-made warehouse: no simulator, no dbt."""
    from expectations.gate import validate
    from expectations.suites import raw_landing
    from extract.load import load_batch

    good = {k: "" for k in keys("cases")} | {
        "case_id": "QK1",
        "channel": "12345热线",
        "case_type": "投诉",
        "status": "已受理",
        "received_at": "2024-03-12T09:00:00+08:00",
        "updated_at": "2024-03-12T09:00:00+08:00",
    }
    bad = [
        good | {"case_id": "QK2", "channel": "微信"},  # not a channel
        good | {"case_id": "QK3", "received_at": "昨天"},  # not a time
        good | {"case_id": "", "updated_at": "2024-03-12T10:00:00+08:00"},  # no id
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in [good, *bad]), encoding="utf-8")
    # an archive file may repeat a row exactly (superseded), never carry two records as one version
    export = [
        good | {"case_id": "QK7"},
        good | {"case_id": "QK7"},
        good | {"case_id": "QK8"},
        good | {"case_id": "QK8", "status": "已派单"},
    ]
    file_path = tmp_path / "export.jsonl"
    file_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in export), encoding="utf-8")
    wh = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(wh))
    load_batch(
        con, "cases", "api/cases/2024-03-12", path, kind="api", checksum="x", landed_count=4, source_count=5
    )
    load_batch(
        con, "cases", "file/cases/f1", file_path, kind="file", checksum="f1", landed_count=4, source_count=4
    )
    con.close()

    result = validate(wh, [raw_landing()])

    failed = {o.label: o.details for o in result.errors}
    assert set(failed) == {
        "raw_landing.landings: landed count = source count (per source and window)",
        "raw_landing.landings: every row read is in raw or quarantined (per batch)",
        "raw_landing.cases_fields: cases: required fields present in the raw records (per source and window)",
        "raw_landing.cases_fields: cases: values parse as their types in the raw records (per source and window)",
        "raw_landing.cases_fields: cases: values in their value sets"
        " (channel, case_type, status, satisfaction) in the raw records (per source and window)",
        "raw_landing.cases_unique_versions: cases: one record per (id, updated_at) per batch (repeats must be exact)",
    }
    repeats = failed.pop(
        "raw_landing.cases_unique_versions: cases: one record per (id, updated_at) per batch (repeats must be exact)"
    )
    assert "QK8" in repeats and "QK7" not in repeats and "file/cases/f1" in repeats
    for label, details in failed.items():
        assert "api/cases/2024-03-12" in details, label
    assert "'field': 'channel'" in failed[next(k for k in failed if "value sets" in k)]
    assert "'field': 'received_at'" in failed[next(k for k in failed if "parse" in k)]
    assert "'field': 'case_id'" in failed[next(k for k in failed if "required" in k)]
    assert not result.warnings
