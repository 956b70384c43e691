"""The parts of write-audit-publish that need no dbt run: the lease, the compare-and-swap publish,
a run's cleanup, child processes that die with their parent, and a failed landing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from minhu import lease, warehouse
from minhu.calendar import TZ
from pipeline import nightly, quality

pytestmark = pytest.mark.fault

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("MINHU_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MINHU_LEASE_STALE", "3")
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def write_owner(home: Path, **over) -> None:
    now = time.time()
    owner = {
        "run_id": "old-run",
        "kind": "nightly",
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "pid_start": lease._pid_start(os.getpid()),
        "acquired_at": now,
        "heartbeat_at": now,
        **over,
    }
    (home / ".warehouse.lease").write_text(json.dumps(owner), encoding="utf-8")


# -------------------------------------------------------------------------------------- lease


def test_a_dead_owner_is_taken_over_with_a_line(home, capsys):
    write_owner(home, pid=dead_pid(), pid_start=None)
    held = lease.acquire("new-run", "import", wait=0)
    try:
        assert lease.read_owner().run_id == "new-run"
        err = capsys.readouterr().err
        assert "taking over the warehouse lease of run old-run" in err and "is gone" in err
    finally:
        held.release()
    assert not (home / ".warehouse.lease").exists()


def test_a_reused_pid_does_not_keep_a_dead_lease(home):
    write_owner(home, pid_start=1)  # this pid, but another process's start time
    lease.acquire("new-run", "nightly", wait=0).release()


def test_a_live_owner_makes_the_second_writer_wait_then_fail(home, capsys):
    write_owner(home)  # this very process: alive, heartbeat fresh
    t0 = time.monotonic()
    with pytest.raises(lease.LeaseTimeout, match="the warehouse is busy: run old-run"):
        lease.acquire("second", "backfill", wait=0.6)
    assert time.monotonic() - t0 >= 0.6
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("minhu: waiting for run old-run (nightly, pid ")
    since = datetime.fromtimestamp(json.loads((home / ".warehouse.lease").read_text())["acquired_at"], TZ)
    assert err[0].endswith(f"since {since:%H:%M:%S}")


def test_a_stale_heartbeat_is_taken_over_even_from_another_host(home):
    write_owner(home, host="elsewhere", pid=1, heartbeat_at=time.time() - 60)
    lease.acquire("new-run", "nightly", wait=0).release()


def test_a_fresh_heartbeat_from_another_host_holds(home):
    write_owner(home, host="elsewhere", pid=1)
    with pytest.raises(lease.LeaseTimeout):
        lease.acquire("new-run", "nightly", wait=0.3)


def test_the_heartbeat_keeps_a_long_run_alive_and_a_taken_lease_cannot_publish(home):
    held = lease.acquire("long-run", "backfill", wait=0)  # heartbeat every 0.5 s (stale after 3 s)
    try:
        time.sleep(4)
        with pytest.raises(lease.LeaseTimeout):
            lease.acquire("other", "nightly", wait=0.2)  # alive and beating: not taken
        write_owner(home, run_id="thief")  # someone took it over (e.g. after a long stall)
        with pytest.raises(lease.LeaseLost, match="taken over by run thief"):
            with held.guarded():
                pass
    finally:
        held.release()
    assert lease.read_owner().run_id == "thief"  # releasing a lost lease leaves the new owner's


# -------------------------------------------------------------------------- compare-and-swap


def gated_build(b: nightly.Build) -> None:
    """Stand in for load + dbt + a passing gate: the gate's own audit row and mark_gated."""
    con = duckdb.connect(str(b.path))
    con.execute(quality.GATE_RUNS_DDL)
    con.execute(
        "insert into audit.gate_runs values (now(), true, 1, 1, 0, 0, [], 0.1, 'i', null, 'd')",
    )
    con.close()
    warehouse.mark_gated(b.path)


def test_publish_is_a_compare_and_swap_on_the_published_version(home):
    with nightly.transaction("nightly") as b:
        with pytest.raises(nightly.PublishRefused, match="has not passed the quality gate"):
            nightly.publish(b)
        gated_build(b)
        assert nightly.publish(b)["version"] == 1
    assert warehouse.published_version() == 1
    assert warehouse.is_gated(warehouse.version_of(home / "warehouse.duckdb"), home / "warehouse.duckdb")

    # A build copied from version 1, then someone else publishes version 2 (a lease broken
    # while this run stalled): the stale build is refused, the newer file stays.
    with nightly.transaction("backfill") as stale:
        assert stale.base_version == 1
        gated_build(stale)
        other = home / "other.duckdb"
        con = duckdb.connect(str(other))
        con.execute("create schema audit")
        con.execute(warehouse.PUBLISH_VERSION_DDL)
        con.execute(
            "insert into audit.publish_version values (2, 1, 'x', 'nightly', 'h', 1, now(), now(), now())"
        )
        con.close()
        os.replace(other, home / "warehouse.duckdb")
        with pytest.raises(nightly.PublishRefused, match="at version 2 but run .* built on version 1"):
            nightly.publish(stale)
    assert warehouse.published_version() == 2


def test_every_way_out_of_a_transaction_removes_the_build_and_releases_the_lease(home):
    with pytest.raises(ZeroDivisionError):
        with nightly.transaction("nightly") as b:
            assert b.path == home / "build" / b.run_id / "warehouse.duckdb" and b.path.exists()
            b.path.with_suffix(".tmp").mkdir()
            raise ZeroDivisionError("a bug in the middle of a run")
    assert list((home / "build").iterdir()) == []
    assert not (home / ".warehouse.lease").exists()
    # what a killed run left is removed by the next one, under the lease
    (home / "build" / "nightly-dead").mkdir()
    (home / "build" / "nightly-dead" / "warehouse.duckdb").write_bytes(b"x")
    (home / "build" / "nightly-dead" / "warehouse.tmp").mkdir()
    with nightly.transaction("nightly") as b:
        assert sorted(p.name for p in (home / "build").iterdir()) == [b.run_id]


def test_sigterm_unwinds_a_run_like_an_exception(home):
    """A run stopped by SIGTERM (systemd, docker stop) cleans up and exits 143, dbt's group killed."""
    code = textwrap.dedent(
        """
        import sys, time
        from pipeline import nightly
        from minhu.proc import run_child
        with nightly.transaction("nightly") as b:
            print(b.path, flush=True)
            run_child(["sleep", "60"])
        """
    )
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    build = Path(p.stdout.readline().strip())
    assert build.exists()
    time.sleep(0.5)
    p.terminate()
    assert p.wait(timeout=20) == 143
    assert not build.exists() and not (home / ".warehouse.lease").exists()
    assert not [c for c in _children_named("sleep 60")]


# -------------------------------------------------------------------------- child processes


def _children_named(cmd: str) -> list[int]:
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip() == cmd:
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def test_a_child_dies_with_its_parent_killed_by_sigkill(tmp_path):
    marker = tmp_path / "child.pid"
    code = textwrap.dedent(
        f"""
        import os, signal
        from minhu.proc import run_child
        def started(proc):
            open({str(marker)!r}, "w").write(str(proc.pid))
            import time; time.sleep(0.3)
            os.kill(os.getpid(), signal.SIGKILL)
        run_child(["sleep", "61"], started=started)
        """
    )
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO)
    assert p.returncode == -9
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while lease.pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not lease.pid_alive(child) or "Z" in Path(f"/proc/{child}/stat").read_text().split(")")[1][:3]


def test_an_exception_kills_the_childs_whole_group(tmp_path):
    from minhu.proc import run_child

    with pytest.raises(subprocess.TimeoutExpired):
        run_child(["sh", "-c", "sleep 62 & sleep 63; wait"], timeout=0.5)
    time.sleep(0.2)
    assert _children_named("sleep 62") == [] and _children_named("sleep 63") == []


# ---------------------------------------------------------------------------------- landing


def test_a_failed_landing_leaves_nothing_behind(home):
    from extract.api import Client, ExtractError
    from extract.land import land_window
    from simulators.faults import FaultPlan
    from simulators.server import serve_in_thread

    server, url = serve_in_thread(0, faults=FaultPlan.parse("drop:1"))
    try:
        client = Client(base_url=url, backoff=0.01, max_retry_after=0.05)
        with pytest.raises(ExtractError, match="nothing was landed"):
            land_window("cases", date(2024, 3, 1), client)
    finally:
        server.shutdown()
    assert not (home / "raw").exists()
