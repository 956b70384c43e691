"""Delivery without a warehouse: the ledger's claims, SMTP retries against a real sink on
loopback, and the temporary files and process group of the headless Chromium that prints PDFs.

The end-to-end faults (SMTP down under `minhu run` and `minhu report --send`, two concurrent
senders, kill -9 while Chromium prints) are in test_delivery_faults.py.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from conftest import free_port, read_eml

from reports import mail, render
from reports.ledger import Ledger, process_start
from simulators import smtp_sink

pytestmark = pytest.mark.unit

TO = ["a@qiaokou-grid.local", "b@qiaokou-grid.local"]


@pytest.fixture
def dhome(tmp_path, monkeypatch):
    """A fresh $MINHU_HOME; SMTP on a port nothing listens on, quick retries."""
    home = tmp_path / "home"
    monkeypatch.setenv("MINHU_HOME", str(home))
    monkeypatch.setenv("MINHU_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("MINHU_SMTP_ATTEMPTS", "3")
    monkeypatch.setenv("MINHU_SMTP_BACKOFF", "0.05")
    monkeypatch.setenv("MINHU_SMTP_BACKOFF_MAX", "0.2")
    monkeypatch.setenv("MINHU_SMTP_TIMEOUT", "10")
    return home


def _msg(subject="【硚口区网格中心】群众诉求日报 2024年3月5日"):
    return mail.build_message(subject, "<p>测试</p>", TO)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def _wait_gone(pids, seconds=30.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if not _gone(p)]
        if not alive:
            return []
        time.sleep(0.1)
    return [p for p in pids if not _gone(p)]


# --------------------------------------------------------------------------------------------
# the ledger
# --------------------------------------------------------------------------------------------


def test_ledger_claim_sent_resend_and_failed(dhome):
    led = Ledger()
    first = led.claim("daily", "2024-03-05", TO, "<m1@minhu.local>")
    assert first.won and first.delivery.state == "claimed" and first.delivery.generation == 0
    # a live owner (this process) holds it: a second claim is told it is busy, not given it
    busy = led.claim("daily", "2024-03-05", list(reversed(TO)), "<m2@minhu.local>")
    assert not busy.won and busy.busy and busy.delivery.id == first.delivery.id
    # another recipient list is another delivery
    assert led.claim("daily", "2024-03-05", TO[:1], "<m3@minhu.local>").won
    assert led.mark_sent(first.delivery)
    done = led.claim("daily", "2024-03-05", TO, "<m4@minhu.local>")
    assert not done.won and not done.busy and done.delivery.state == "sent"
    # --resend: a new delivery (the next generation), with its own Message-ID
    again = led.claim("daily", "2024-03-05", TO, "<m5@minhu.local>", resend=True)
    assert again.won and again.delivery.generation == 1 and again.delivery.message_id == "<m5@minhu.local>"
    # failed: the next run claims it again, keeping the Message-ID of the first claim
    assert led.mark_failed(again.delivery, "ConnectionRefusedError")
    retry = led.claim("daily", "2024-03-05", TO, "<m6@minhu.local>")
    assert retry.won and retry.took_over and retry.delivery.id == again.delivery.id
    assert retry.delivery.message_id == "<m5@minhu.local>"
    assert [(d.generation, d.state) for d in led.history("daily", "2024-03-05") if d.id != 2] == [
        (0, "sent"),
        (1, "claimed"),
    ]


def test_a_claim_whose_owner_died_before_sent_is_taken_over(dhome):
    """A sender killed after claiming (kill -9 mid-send): the claim names a dead process, so
    the next run takes it over; a live owner's claim is never taken."""
    script = textwrap.dedent(
        """
        from reports.ledger import Ledger
        c = Ledger().claim("weekly", "2024-W10", ["a@qiaokou-grid.local"], "<dead@minhu.local>")
        assert c.won
        print(c.delivery.owner_pid, flush=True)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    dead = int(out.stdout)
    assert process_start(dead) is None
    c = Ledger().claim("weekly", "2024-W10", ["a@qiaokou-grid.local"], "<new@minhu.local>")
    assert c.won and c.took_over and c.delivery.owner_pid == os.getpid()
    assert c.delivery.message_id == "<dead@minhu.local>"


def _race(path: str, barrier, results) -> None:
    from reports.ledger import Ledger

    barrier.wait()
    c = Ledger(Path(path)).claim(
        "monthly", "2024-03", ["a@qiaokou-grid.local"], f"<{os.getpid()}@minhu.local>"
    )
    results.put((os.getpid(), c.won, c.busy))
    barrier.wait()  # stay alive until every racer has claimed: the winner's claim is live


def test_racing_claims_have_exactly_one_winner(tmp_path):
    ctx = multiprocessing.get_context("fork")  # fresh SQLite connections in each child
    n = 6
    for attempt in range(3):
        path = tmp_path / f"ledger-{attempt}.sqlite"
        barrier, results = ctx.Barrier(n), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(str(path), barrier, results)) for _ in range(n)]
        for p in procs:
            p.start()
        got = [results.get(timeout=120) for _ in range(n)]
        for p in procs:
            p.join(timeout=60)
        assert sum(won for _, won, _ in got) == 1, got
        assert all(busy for _, won, busy in got if not won), got
        rows = Ledger(path).history("monthly", "2024-03")
        assert len(rows) == 1 and rows[0].state == "claimed"


# --------------------------------------------------------------------------------------------
# SMTP: retries with backoff, one line, exactly once
# --------------------------------------------------------------------------------------------


def test_smtp_down_then_up_during_the_backoff_is_sent(dhome, monkeypatch):
    """The relay comes up after the first failed attempt: the retry delivers it."""
    port = free_port()
    monkeypatch.setenv("MINHU_SMTP_PORT", str(port))
    monkeypatch.setenv("MINHU_SMTP_ATTEMPTS", "8")
    outbox = dhome / "outbox"
    failures, controllers = [], []

    def relay_comes_up(error):
        failures.append(error)
        if not controllers:
            controllers.append(smtp_sink.start(port=port, outbox=outbox))

    try:
        attempts = mail.send_retrying(_msg(), on_retry=relay_comes_up)
    finally:
        for c in controllers:
            c.stop()
    assert attempts == 2 and len(failures) == 1 and "ConnectionRefused" in failures[0]
    assert len(list(outbox.glob("*.eml"))) == 1


def test_smtp_down_is_one_line_not_marked_sent_then_sent_once(dhome, monkeypatch):
    archive = dhome / "reports" / "daily" / "2024-03-05"
    port = int(os.environ["MINHU_SMTP_PORT"])
    with pytest.raises(mail.DeliveryFailed) as exc:
        mail.deliver_once(_msg(), "daily", "2024-03-05", archive, TO)
    line = str(exc.value)
    assert "\n" not in line and exc.value.exit_code != 0
    assert f"127.0.0.1:{port}" in line and "daily report 2024-03-05" in line and "3 attempt" in line
    assert "--period 2024-03-05 --send" in line
    (d,) = Ledger().history("daily", "2024-03-05")
    assert d.state == "failed" and d.attempts == 3 and "ConnectionRefused" in d.error
    assert not mail.already_sent("daily", "2024-03-05", archive, TO) and not list(archive.glob("sent-*"))
    # the relay is back: the next run sends it, once
    outbox = dhome / "outbox"
    controller = smtp_sink.start(port=port, outbox=outbox)
    try:
        sent = mail.deliver_once(_msg(), "daily", "2024-03-05", archive, TO)
        again = mail.deliver_once(_msg(), "daily", "2024-03-05", archive, TO)
    finally:
        controller.stop()
    assert sent.sent and not again.sent and again.already_sent
    (eml,) = outbox.glob("*.eml")
    assert read_eml(eml)["Message-ID"] == d.message_id  # the retried delivery is the same message
    (d,) = Ledger().history("daily", "2024-03-05")
    assert d.state == "sent" and d.attempts == 4
    assert mail.already_sent("daily", "2024-03-05", archive, TO)
    assert len(list(archive.glob("message-*.eml"))) == 1 and len(list(archive.glob("sent-*.json"))) == 1


class Refusing:
    """A relay that refuses every recipient permanently (550)."""

    def __init__(self) -> None:
        self.rcpts = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.rcpts += 1
        return "550 5.1.1 mailbox unavailable"


def test_a_permanent_refusal_is_not_retried(dhome, monkeypatch):
    port = free_port()
    monkeypatch.setenv("MINHU_SMTP_PORT", str(port))
    handler = Refusing()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(mail.DeliveryFailed, match=rf"SMTP 127\.0\.0\.1:{port} refused it \(.*550") as exc:
            mail.deliver_once(_msg(), "weekly", "2024-W10", dhome / "a", TO)
    finally:
        controller.stop()
    assert "\n" not in str(exc.value) and "weekly report 2024-W10" in str(exc.value)
    assert handler.rcpts == len(TO)  # one attempt only
    (d,) = Ledger().history("weekly", "2024-W10")
    assert d.state == "failed" and d.attempts == 1


def test_a_send_marker_from_before_the_ledger_counts_as_sent(dhome):
    archive = dhome / "reports" / "daily" / "2024-03-01"
    archive.mkdir(parents=True)
    mail._marker(archive, TO).write_text("{}", encoding="utf-8")
    assert mail.already_sent("daily", "2024-03-01", archive, TO)
    out = mail.deliver_once(_msg(), "daily", "2024-03-01", archive, TO)  # SMTP is down: not touched
    assert not out.sent and out.already_sent and out.delivery.state == "sent"


# --------------------------------------------------------------------------------------------
# render: unique temporary files, Chromium in its own process group
# --------------------------------------------------------------------------------------------


@pytest.fixture
def tmpdir_isolated(tmp_path, monkeypatch):
    """The temporary directory (Chromium profiles) of this test only."""
    t = Path(tempfile.mkdtemp(prefix="mdt-", dir="/tmp"))  # short: Chromium puts a socket under it
    monkeypatch.setattr(tempfile, "tempdir", str(t))
    yield t
    shutil.rmtree(t, ignore_errors=True)


def test_each_render_gets_its_own_temporary_file(tmp_path):
    target = tmp_path / "daily-2024-03-05.pdf"
    names = {render.temp_path(target) for _ in range(50)}
    assert len(names) == 50
    assert all(
        p.parent == tmp_path and p.name.startswith(".") and f".{os.getpid()}-" in p.name for p in names
    )
    # a failed write leaves neither a temporary file nor a changed target
    target.write_bytes(b"old")
    with pytest.raises(ZeroDivisionError), render.atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        1 / 0  # noqa: B018
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_two_concurrent_renders_of_one_pdf_both_succeed(tmp_path, tmpdir_isolated):
    """Both print the same target at the same time (the shared `.pdf.tmp` made one of them die)."""
    from concurrent.futures import ThreadPoolExecutor

    from reports.common import write_pdf

    html = tmp_path / "r.html"
    html.write_text("<html><body><h1>日报</h1><p>受理量 1,234</p></body></html>", encoding="utf-8")
    target = tmp_path / "r.pdf"
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: write_pdf(html, target), range(2)))
    assert results == [target, target] and target.read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.pdf"]
    assert list(tmpdir_isolated.iterdir()) == []  # the profiles are removed


FAKE_CHROMIUM = """#!/bin/sh
# a stand-in for Chromium: (a child process,) a half-written PDF, then {behaviour}
for a in "$@"; do case "$a" in --print-to-pdf=*) out="${{a#--print-to-pdf=}}";; esac; done
{child}
printf '%%PDF-half' > "$out"
{behaviour}
"""


def _fake(tmp_path, behaviour: str, child: bool = True) -> tuple[Path, Path]:
    pids = tmp_path / "pids"
    exe = tmp_path / "fake-chromium"
    spawn = f'sleep 300 & echo "$$ $!" > "{pids}"' if child else f'echo "$$" > "{pids}"'
    exe.write_text(FAKE_CHROMIUM.format(child=spawn, behaviour=behaviour))
    exe.chmod(0o755)
    return exe, pids


def test_chromium_timeout_kills_its_whole_process_group(tmp_path, tmpdir_isolated):
    exe, pids = _fake(tmp_path, "sleep 300")
    html = tmp_path / "r.html"
    html.write_text("<p>x</p>")
    with pytest.raises(RuntimeError, match="within 2 s"):
        render.print_pdf(str(exe), html, tmp_path / "r.pdf", timeout=2)
    leader, child = map(int, pids.read_text().split())
    assert _wait_gone([leader, child]) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-chromium", "pids", "r.html"]
    assert list(tmpdir_isolated.iterdir()) == []


def test_chromium_failure_leaves_no_temporary_file(tmp_path, tmpdir_isolated):
    exe, pids = _fake(tmp_path, 'kill "$!"; exit 3')
    html = tmp_path / "r.html"
    html.write_text("<p>x</p>")
    (tmp_path / "r.pdf").write_bytes(b"%PDF-previous")
    with pytest.raises(RuntimeError, match="exit 3"):
        render.print_pdf(str(exe), html, tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes() == b"%PDF-previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-chromium", "pids", "r.html", "r.pdf"]
    assert list(tmpdir_isolated.iterdir()) == []


def test_chromium_dies_with_the_process_that_started_it(tmp_path, tmpdir_isolated):
    """kill -9 of the parent: the kernel kills Chromium (PR_SET_PDEATHSIG); what the parent could
    not remove is swept by the next render. (Real Chromium's own children: test_delivery_faults.)"""
    exe, pids = _fake(tmp_path, "sleep 300", child=False)
    html = tmp_path / "r.html"
    html.write_text("<p>x</p>")
    script = (
        "from pathlib import Path; from reports import render; "
        f"render.print_pdf({str(exe)!r}, Path({str(html)!r}), Path({str(tmp_path / 'r.pdf')!r}))"
    )
    env = {**os.environ, "TMPDIR": str(tmpdir_isolated)}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 60
    while not (pids.exists() and pids.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    leader = int(pids.read_text())
    while not list(tmp_path.glob(".r.pdf.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    assert _wait_gone([leader]) == []
    assert len(list(tmp_path.glob(f".r.pdf.{parent.pid}-*.tmp"))) == 1  # the killed render's leftovers
    assert len(list(tmpdir_isolated.iterdir())) == 1
    assert len(render.sweep(tmp_path)) == 2  # ... are swept by the next render
    assert not list(tmp_path.glob(".*.tmp")) and list(tmpdir_isolated.iterdir()) == []


def test_sweep_leaves_the_files_of_running_renders(tmp_path, tmpdir_isolated):
    dead = _dead_pid()
    live = os.getppid()
    stale = tmp_path / f".r.pdf.{dead}-0123abcd.tmp"
    running = tmp_path / f".r.pdf.{live}-0123abcd.tmp"
    legacy = tmp_path / "r.pdf.tmp"
    for p in (stale, running, legacy):
        p.write_bytes(b"x")
    (tmpdir_isolated / f"minhu-chromium-{dead}-abc").mkdir()
    (tmpdir_isolated / f"minhu-chromium-{live}-abc").mkdir()
    (tmpdir_isolated / "unrelated").mkdir()
    removed = {p.name for p in render.sweep(tmp_path)}
    assert removed == {stale.name, legacy.name, f"minhu-chromium-{dead}-abc"}
    assert running.exists() and (tmpdir_isolated / f"minhu-chromium-{live}-abc").exists()
