"""Write-audit-publish under overlap and kill -9, on real processes (`minhu run`, `minhu import`,
real dbt, real GX, the simulators over HTTP).

One night (DAY) is published once for the module; each test copies that $MINHU_HOME. The
invariants (tests/faults.py), checked after every command: the published warehouse is some
gated build (its audit.publish_version row points at a passing audit.gate_runs row, and the
version history is a straight line 1..n); every command that exited 0 has its data in the
published warehouse; no process of the run (dbt) outlives it; build files are bounded (those
of at most one killed run, none after a successful command); no personal data in any file
outside raw/.
"""

from __future__ import annotations

import random
import shutil
import threading
import time
from datetime import date

import pytest
from conftest import home_env, set_home_env
from faults import (
    api_batches,
    assert_clean_after_success,
    assert_no_orphans,
    assert_no_personal_data_outside_raw,
    assert_published_is_gated,
    batches,
    build_files,
    file_batch,
    finish,
    run,
    start,
    temp_landings,
    version,
    write_case_file,
)

from extract import land
from minhu import warehouse
from pipeline import nightly

pytestmark = pytest.mark.fault

DAY = date(2024, 3, 4)
NEXT = date(2024, 3, 5)
LATER = date(2024, 3, 6)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, sources_url, smtp_port):
    home = tmp_path_factory.mktemp("faults") / "home"
    with home_env(home, sources_url, smtp_port):
        nightly.run(DAY, send_report=False)
    assert version(home)["version"] == 1
    return home


@pytest.fixture
def home(baseline, tmp_path, monkeypatch, sources_url, smtp_port):
    home = tmp_path / "home"
    shutil.copytree(baseline, home)
    set_home_env(monkeypatch, home, sources_url, smtp_port)
    return home


class Reader(threading.Thread):
    """A report's reads, in a loop, while writers run: every read sees one whole gated version."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.seen: list[int] = []
        self.errors: list[str] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                with warehouse.pinned():
                    v = warehouse.query("select max(version) as v from audit.publish_version")[0]["v"]
                    gated = warehouse.query(
                        "select count(*) as n from audit.gate_runs g join audit.publish_version p"
                        " on g.checked_at = p.gated_at and g.passed where p.version = ?",
                        [v],
                    )[0]["n"]
                    warehouse.query("select count(*) from marts.fct_cases")
                if gated != 1:
                    self.errors.append(f"version {v} read without its gate record")
                self.seen.append(v)
            except Exception as exc:  # noqa: BLE001 - any failure of a reader is the finding
                self.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.05)


# ------------------------------------------------------------------------------------ overlap

SCENARIOS = {
    "nightly_then_backfill": (["run", "--date", NEXT.isoformat(), "--no-report"], ["backfill", "--start", LATER.isoformat(), "--end", LATER.isoformat()]),
    "backfill_then_nightly": (["backfill", "--start", LATER.isoformat(), "--end", LATER.isoformat()], ["run", "--date", NEXT.isoformat(), "--no-report"]),
    "import_then_nightly": (["import", "cases", "{file}"], ["run", "--date", NEXT.isoformat(), "--no-report"]),
    "nightly_then_import": (["run", "--date", NEXT.isoformat(), "--no-report"], ["import", "cases", "{file}"]),
}  # fmt: skip


def expected_batches(args: list[str], file) -> set[str]:
    if args[0] == "import":
        return {file_batch(file)}
    d = date.fromisoformat(args[2])
    return api_batches(d)


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_overlapping_writers_both_publish_in_turn_and_readers_never_break(home, tmp_path, scenario):
    file = write_case_file(tmp_path / "档案导出.csv", prefix="ARC")
    first, second = ([a.replace("{file}", str(file)) for a in args] for args in SCENARIOS[scenario])
    before = version(home)["version"]
    delay = random.Random(scenario).uniform(0.0, 3.0)  # bounded, reproducible per scenario
    reader = Reader()
    reader.start()
    a = start(home, *first)
    time.sleep(delay)  # the second starts while the first is landing, building or gating
    b = start(home, *second)
    (rc_a, _, err_a), (rc_b, _, err_b) = finish(a), finish(b)
    reader.stop.set()
    reader.join()

    assert (rc_a, rc_b) == (0, 0), (err_a[-2000:], err_b[-2000:])
    v = assert_published_is_gated(home)
    assert v["version"] == before + 2  # two publishes, each built on the other's
    have = batches(home)
    assert expected_batches(first, file) <= have and expected_batches(second, file) <= have
    assert api_batches(DAY) <= have
    waited = [e for e in (err_a, err_b) if "minhu: waiting for run " in e]
    if waited:  # whoever came second said for whom and since when it waited
        assert any(" since " in line for line in waited[0].splitlines() if "waiting for run" in line)
    assert not reader.errors, reader.errors[:5]
    assert reader.seen and reader.seen == sorted(reader.seen)  # never back to an older version
    assert set(reader.seen) <= set(range(before, before + 3))
    assert_clean_after_success(home)
    assert_no_personal_data_outside_raw(home)


def test_a_writer_that_waits_too_long_fails_with_one_line(home):
    """A live lease (this test process's own pid) held past MINHU_LEASE_WAIT: exit 5 (LockBusy), one line."""
    from minhu import lease

    before = version(home)
    archive = home.parent / "waiting.csv"  # never read: the lease is waited for first
    archive.write_text("case_id\n", encoding="utf-8")
    with lease.hold("holder-test", "import"):
        rc, out, err = run(home, "import", "cases", str(archive), MINHU_LEASE_WAIT="1")
    assert rc == 5
    lines = err.strip().splitlines()
    assert lines[0].startswith("minhu: waiting for run holder-test (import, pid ")
    assert " since " in lines[0]
    assert lines[-1].startswith("minhu: the warehouse is busy: run holder-test")
    assert "Traceback" not in err and len(lines) == 2
    assert version(home) == before


# ------------------------------------------------------------------------------------ kill -9

# Each step: (point, command). Every command is killed at its point; the next command is the
# re-run that must recover (take over the dead lease, remove dead builds and half landings).
CHAIN = [
    ("landing", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("after_extract", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("lease_acquired", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("load", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("dbt", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("import_load", ["import", "cases", "{file}"]),
    ("after_build", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("gate", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("after_gate", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("before_rename", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("after_rename", ["run", "--date", NEXT.isoformat(), "--no-report"]),
    ("before_release", ["backfill", "--start", LATER.isoformat(), "--end", LATER.isoformat()]),
]
PUBLISHES = {"after_rename", "before_release"}  # killed after their rename: published, exit -9
LEAVES_LEASE = {p for p, _ in CHAIN} - {"landing", "after_extract"}


def test_kill_9_at_every_point_then_rerun(home, tmp_path):
    file = write_case_file(tmp_path / "档案导出.csv", prefix="KIL")
    published = version(home)["version"]
    took_over_expected = False
    for point, args in CHAIN:
        args = [a.replace("{file}", str(file)) for a in args]
        rc, _, err = run(home, *args, MINHU_FAULT_KILL_AT=point)
        assert rc == -9, f"{point}: exit {rc}, the kill point was not reached:\n{err[-3000:]}"
        if took_over_expected:
            assert "taking over the warehouse lease of run " in err, (point, err[-2000:])
        took_over_expected = point in LEAVES_LEASE
        v = assert_published_is_gated(home)
        published += point in PUBLISHES
        assert v["version"] == published, (point, v)
        assert_no_orphans(home)
        assert len(build_files(home)) <= 1, (point, build_files(home))  # at most one dead run's folder
        assert all(p.name.startswith(".landing.") for p in temp_landings(home))
        if point == "landing":
            assert land.latest_landing("cases", NEXT) is None  # a half landing is never read
        if point == "after_rename":
            assert api_batches(NEXT) <= batches(home)

    # The re-runs: each exits 0 and its data is published; nothing is left behind.
    for args in (
        ["run", "--date", NEXT.isoformat(), "--no-report"],
        ["import", "cases", str(file)],
        ["backfill", "--start", LATER.isoformat(), "--end", LATER.isoformat()],
    ):
        rc, _, err = run(home, *args)
        assert rc == 0, err[-3000:]
        published += 1
        assert assert_published_is_gated(home)["version"] == published
        assert_clean_after_success(home)
    assert api_batches(DAY) | api_batches(NEXT) | api_batches(LATER) | {file_batch(file)} <= batches(home)
    assert_no_personal_data_outside_raw(home)
    planted = home / "logs" / "planted.log"  # the scan itself finds a leak
    planted.write_text("赵六 13722223333\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="13722223333"):
        assert_no_personal_data_outside_raw(home)
