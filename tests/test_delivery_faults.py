"""Delivery faults end to end, on a real nightly run (simulators → dbt → gate → publish → 日报):
the mail relay down under `minhu run` and `minhu report --send`, two senders at once, kill -9
while headless Chromium prints the PDF.

One `minhu run` with nothing listening on the SMTP port builds the module's home; every other
test works on its own copy. Every command runs as a real subprocess (what a user or a DAG runs).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import free_port, read_eml, subject_of

from minhu.settings import REPO_ROOT
from reports.ledger import Ledger
from simulators import smtp_sink

pytestmark = pytest.mark.fault

DAY = "2024-03-05"
SUBJECT = "【硚口区网格中心】群众诉求日报 2024年3月5日"


def _env(home: Path, sources_url: str, smtp_port: int, **extra) -> dict:
    return {
        **os.environ,
        "MINHU_HOME": str(home),
        "MINHU_SOURCE_URL": sources_url,
        "MINHU_SMTP_PORT": str(smtp_port),
        "MINHU_SMTP_ATTEMPTS": "2",
        "MINHU_SMTP_BACKOFF": "0.05",
        "MINHU_SMTP_BACKOFF_MAX": "0.2",
        **extra,
    }


def _minhu(args: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        **kw,
    )


def _error_line(stderr: str) -> str:
    """The CLI's error: no traceback, and exactly one line from minhu."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("minhu:")]
    assert len(lines) == 1, stderr
    assert stderr.rstrip().splitlines()[-1] == lines[0]
    return lines[0]


def _deliveries(home: Path, kind: str = "daily", period: str = DAY):
    return Ledger(home / "deliveries.sqlite").history(kind, period)


def _copy(src: Path, dst: Path, fresh: bool = False) -> Path:
    ignore = ["*.lock", "build"] + (["deliveries.sqlite", "outbox", "sent-*.json"] if fresh else [])
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*ignore))
    return dst


@pytest.fixture(scope="module")
def night(tmp_path_factory, sources_url):
    """`minhu run --date 2024-03-05` with the mail relay down (nothing listens on its port)."""
    home = tmp_path_factory.mktemp("delivery-night") / "home"
    port = free_port()
    proc = _minhu(["run", "--date", DAY], _env(home, sources_url, port))
    return {"home": home, "port": port, "proc": proc, "sources_url": sources_url}


def test_minhu_run_with_smtp_down_ends_in_one_line(night):
    home, port, proc = night["home"], night["port"], night["proc"]
    assert proc.returncode == 4, proc.stderr
    line = _error_line(proc.stderr)
    assert line.startswith(f"minhu: daily report {DAY} not sent: SMTP 127.0.0.1:{port} failed 2 attempt(s)")
    assert f"re-run `minhu report daily --period {DAY} --send`" in line
    # the night's work stands: the warehouse is published, the report archived, not marked sent
    assert (home / "warehouse.duckdb").exists()
    archive = home / "reports" / "daily" / DAY
    names = {p.name for p in archive.iterdir()}
    assert {f"daily-{DAY}.html", f"daily-{DAY}.xlsx", f"daily-{DAY}.pdf"} <= names
    assert (archive / f"daily-{DAY}.pdf").read_bytes().startswith(b"%PDF")
    assert not [n for n in names if n.startswith("sent-") or n.startswith("message-") or n.endswith(".tmp")]
    (d,) = _deliveries(home)
    assert d.state == "failed" and d.attempts == 2 and "ConnectionRefused" in d.error
    assert not list((home / "outbox").glob("*.eml"))


def test_report_send_with_smtp_down_then_up_is_sent_exactly_once(night, tmp_path):
    home = _copy(night["home"], tmp_path / "home")
    port = night["port"]
    env = _env(home, night["sources_url"], port)
    down = _minhu(["report", "daily", "--period", DAY, "--send"], env)
    assert down.returncode == 4
    line = _error_line(down.stderr)
    assert f"daily report {DAY} not sent: SMTP 127.0.0.1:{port}" in line and "not marked sent" in line
    assert _deliveries(home)[-1].state == "failed"
    outbox = home / "outbox"
    controller = smtp_sink.start(port=port, outbox=outbox)  # the relay is back
    try:
        up = _minhu(["report", "daily", "--period", DAY, "--send", "--format", "json"], env)
        again = _minhu(["report", "daily", "--period", DAY, "--send", "--format", "json"], env)
    finally:
        controller.stop()
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["sent"] is True
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["sent"] is False and out["already_sent"] is True
    (eml,) = outbox.glob("*.eml")
    assert subject_of(read_eml(eml)) == SUBJECT
    (d,) = _deliveries(home)  # one delivery: failed twice over, then sent
    assert d.state == "sent" and d.attempts == 2 + 2 + 1
    assert read_eml(eml)["Message-ID"] == d.message_id


def test_two_concurrent_sends_send_exactly_once(night, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "pipeline.cli",
        "report",
        "daily",
        "--period",
        DAY,
        "--send",
        "--format",
        "json",
    ]
    for attempt in range(3):
        home = _copy(night["home"], tmp_path / f"home-{attempt}", fresh=True)
        port = free_port()
        outbox = home / "outbox"
        controller = smtp_sink.start(port=port, outbox=outbox)
        env = _env(home, night["sources_url"], port)
        try:
            procs = [
                subprocess.Popen(
                    cmd, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                )
                for _ in range(2)
            ]
            results = [(p.communicate(timeout=600), p.returncode) for p in procs]
        finally:
            controller.stop()
        for (_, err), rc in results:
            assert rc == 0, err
        outs = [json.loads(out) for (out, _), _ in results]
        assert sorted(o["sent"] for o in outs) == [False, True], outs
        assert [o["already_sent"] for o in outs if not o["sent"]] == [True]
        emls = list(outbox.glob("*.eml"))
        assert len(emls) == 1, f"try {attempt}: {len(emls)} messages"
        assert subject_of(read_eml(emls[0])) == SUBJECT
        (d,) = _deliveries(home)
        assert d.state == "sent" and d.attempts == 1
        archive = home / "reports" / "daily" / DAY
        assert len(list(archive.glob("message-*.eml"))) == 1
        assert not list(archive.glob(".*.tmp")) and not list(archive.glob("*.tmp"))
        assert (archive / f"daily-{DAY}.pdf").read_bytes().startswith(b"%PDF")


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode("utf-8", "replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state not in ("Z", "X"):
            found.append(int(proc.name))
    return found


def _wait_for(predicate, seconds: float):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


HANGING_CHROMIUM = """#!/bin/bash
# real headless Chromium, printing a page that never finishes loading: left alone, it never exits
exec {chromium} "${{@:1:$#-1}}" "http://127.0.0.1:{port}/never-answers"
"""


def test_kill9_during_pdf_rendering_leaves_no_chromium_and_no_tmp(night, tmp_path):
    """kill -9 of minhu while Chromium prints: the kernel kills Chromium (it would otherwise wait
    for the page forever) and its children follow; the next run sweeps the leftovers."""
    from reports.common import chromium_path

    home = _copy(night["home"], tmp_path / "home", fresh=True)
    tmp = Path(
        tempfile.mkdtemp(prefix="mdk-", dir="/tmp")
    )  # this test's TMPDIR (short: a socket goes under it)
    silent = socket.socket()  # accepts connections (the kernel's backlog), never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    hanging = tmp_path / "chromium-hanging"
    hanging.write_text(HANGING_CHROMIUM.format(chromium=chromium_path(), port=silent.getsockname()[1]))
    hanging.chmod(0o755)
    try:
        env = _env(home, night["sources_url"], free_port(), TMPDIR=str(tmp))
        cmd = [sys.executable, "-m", "pipeline.cli", "report", "daily", "--period", DAY]
        render = subprocess.Popen(
            cmd,
            env={**env, "MINHU_CHROMIUM": str(hanging)},
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        profile = f"{tmp}/minhu-chromium-{render.pid}-"
        # wait until Chromium is printing: its browser, zygotes and a renderer are up
        chromium = _wait_for(
            lambda: (lambda ps: ps if len(ps) >= 4 else [])(_processes_mentioning(profile)), 300
        )
        assert chromium, "Chromium never started"
        os.kill(render.pid, signal.SIGKILL)
        render.wait()
        left = _wait_for(lambda: not _processes_mentioning(str(tmp)), 60)
        assert left, f"Chromium processes outlived kill -9 of minhu: {_processes_mentioning(str(tmp))}"
        assert [p.name for p in tmp.iterdir() if p.name.startswith(f"minhu-chromium-{render.pid}-")]
        # the next run renders the report and sweeps what the killed one left
        again = _minhu(["report", "daily", "--period", DAY, "--format", "json"], env)
        assert again.returncode == 0, again.stderr
        archive = home / "reports" / "daily" / DAY
        assert not [p.name for p in archive.iterdir() if p.name.endswith(".tmp")]
        assert list(tmp.iterdir()) == []
        assert (archive / f"daily-{DAY}.pdf").read_bytes().startswith(b"%PDF")
        assert not _processes_mentioning(str(tmp))
    finally:
        silent.close()
        for pid in _processes_mentioning(str(tmp)):  # only if the test failed: what it started
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
