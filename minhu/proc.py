"""Child processes that die with their parent: `run_child` (dbt; reusable for Chromium).

A child started by `run_child` gets its own process group (``start_new_session``) and, on Linux,
``PR_SET_PDEATHSIG = SIGKILL``: when this process dies, even by kill -9, the kernel kills the
child. When this process leaves `run_child` by an exception (a timeout, Ctrl-C, SIGTERM turned
into SystemExit) the whole group is killed with ``killpg`` before the exception goes on; after
a normal exit, whatever the child left running in its group is killed too.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1

try:
    _libc = (
        ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        if sys.platform == "linux"
        else None
    )
except OSError:  # pragma: no cover - no libc to call
    _libc = None


def _die_with(parent: int) -> Callable[[], None] | None:
    if _libc is None:
        return None
    prctl = _libc.prctl

    def preexec() -> None:  # runs in the child between fork and exec: async-signal-safe calls only
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: die now
            os._exit(1)

    return preexec


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the child's process group and reap the child."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a zombie that will not be reaped
        pass


def run_child(
    cmd: list[str],
    *,
    env: dict | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    started: Callable[[subprocess.Popen], None] | None = None,
    on_line: Callable[[str], None] | None = None,
) -> subprocess.CompletedProcess:
    """Run `cmd` to completion in a process group that dies with this process; capture its output.

    ``started(proc)`` is called once the child runs (the fault hooks use it). ``on_line(line)``
    is called with each stdout line as it comes (progress), from a reader thread; the whole
    output is still returned. Raises subprocess.TimeoutExpired after `timeout` seconds, the
    group killed.
    """
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_die_with(os.getpid()),
    )
    try:
        if started is not None:
            started(proc)
        if on_line is None:
            out, err = proc.communicate(timeout=timeout)
        else:
            out, err = _communicate_lines(proc, on_line, timeout)
    except BaseException:
        kill_group(proc)
        raise
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # nothing of the child outlives it
    except (ProcessLookupError, PermissionError):
        pass
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _communicate_lines(
    proc: subprocess.Popen, on_line: Callable[[str], None], timeout: float | None
) -> tuple[str, str]:
    """`communicate`, with each stdout line handed to `on_line` as it arrives."""
    import threading

    lines: list[str] = []
    errs: list[str] = []

    def read_out() -> None:
        for line in proc.stdout:
            lines.append(line)
            try:
                on_line(line.rstrip("\n"))
            except Exception:  # noqa: BLE001 - progress must never break the child's run
                pass

    def read_err() -> None:
        errs.append(proc.stderr.read())

    readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for t in readers:
        t.start()
    proc.wait(timeout=timeout)
    for t in readers:
        t.join()
    return "".join(lines), "".join(errs)
