"""Files and processes of a render: unique temporary files, the headless Chromium that prints the PDF.

* Every file a render writes goes to a temporary file of its own beside the target
  (``.<name>.<pid>-<random>.tmp``) and is renamed over the target when complete; two renders of
  the same report never share a temporary file, and a reader never sees half a file.
* Chromium runs in its own session (process group) and is told by the kernel to die with the
  process that started it (``prctl(PR_SET_PDEATHSIG, SIGKILL)``): kill -9 of minhu leaves no
  Chromium behind (the kernel sends the signal when the *thread* that started Chromium exits;
  `run_group` waits in that thread). On timeout or any exception the whole group is killed. Its
  profile (and its TMPDIR) is a temporary directory named after the owner's pid, removed in
  ``finally``.
* What a killed process could not remove (its ``.tmp`` files, its profile directory) is swept by
  the next render: entries whose owner pid is no longer running.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
# Chromium puts a Unix socket at $TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket (≤ 107 bytes)
SOCKET_DIR_MAX = 60
PROFILE_PREFIX = "minhu-chromium-"
_TMP = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.tmp$")
_PROFILE = re.compile(rf"^{PROFILE_PREFIX}(\d+)-")

_libc = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:  # pragma: no cover - no libc to call prctl with
        _libc = None


def temp_path(target: Path) -> Path:
    """A temporary file for `target`, unique to this call, in the same directory (so that the
    final rename is atomic) and named after this process (so that a sweep can tell it is stale)."""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Write to the yielded temporary path; it replaces `target` when the block completes, and is
    removed on every exit path."""
    tmp = temp_path(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(target: Path, data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def write_text(target: Path, text: str) -> Path:
    return write_bytes(target, text.encode("utf-8"))


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] not in "ZX"


def sweep(folder: Path) -> list[Path]:
    """Remove what killed renders left: ``.tmp`` files in `folder` and Chromium profiles in the
    temporary directory whose owner process is gone. Returns what was removed."""
    removed = []
    candidates = []
    if folder.is_dir():
        for p in folder.iterdir():
            m = _TMP.match(p.name)
            if m:
                candidates.append((p, int(m.group(1))))
            elif p.name.endswith(".pdf.tmp"):  # the shared name of renders before unique names
                candidates.append((p, None))
    tmp_root = Path(tempfile.gettempdir())
    for p in tmp_root.glob(PROFILE_PREFIX + "*"):
        m = _PROFILE.match(p.name)
        if m:
            candidates.append((p, int(m.group(1))))
    for p, pid in candidates:
        if pid is not None and (pid == os.getpid() or _alive(pid)):
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    if removed:
        log.info(
            "removed %d leftovers of killed renders: %s", len(removed), ", ".join(p.name for p in removed)
        )
    return removed


def _child_setup(parent: int):
    """preexec_fn: die with the parent (SIGKILL when the thread that started us exits), and exit at
    once if the parent is already gone (it died between fork and prctl)."""

    def setup() -> None:
        if _libc is not None:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return setup


def _killpg(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the session leader's pid is the group id
    except (ProcessLookupError, PermissionError):
        pass


def run_group(
    cmd: list[str], timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run `cmd` in a new session that dies with this process; kill the whole group on timeout or
    on any exception (KeyboardInterrupt included)."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env,
        start_new_session=True,
        preexec_fn=_child_setup(os.getpid()),  # noqa: PLW1509 - prctl must run in the child
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        _killpg(proc)
        proc.communicate()  # reap the leader, close the pipes
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-crash-reporter",
    "--disable-breakpad",
    "--no-pdf-header-footer",
    "--print-to-pdf-no-header",
)


def print_pdf(exe: str, html_path: Path, pdf_path: Path, timeout: float = 120) -> Path:
    """Print `html_path` to `pdf_path` with headless Chromium `exe` (see the module docstring)."""
    sweep(pdf_path.parent)
    profile = Path(tempfile.mkdtemp(prefix=f"{PROFILE_PREFIX}{os.getpid()}-"))
    tmp_pdf = temp_path(pdf_path)
    try:
        cmd = [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={tmp_pdf}",
            html_path.resolve().as_uri(),
        ]
        env = {**os.environ, "HOME": str(profile)}
        if len(str(profile)) <= SOCKET_DIR_MAX:  # its singleton socket goes under TMPDIR
            env["TMPDIR"] = str(profile)  # so that what Chromium leaves in TMPDIR goes with the profile
        try:
            proc = run_group(cmd, timeout, env)
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"Chromium did not print {html_path} to PDF within {timeout:g} s (killed);"
                " re-run the report, or raise the timeout if the report is very large"
            ) from None
        if proc.returncode != 0 or not tmp_pdf.exists() or tmp_pdf.stat().st_size == 0:
            raise RuntimeError(
                f"Chromium could not print {html_path} to PDF (exit {proc.returncode}): {proc.stderr[-2000:]}"
            )
        os.replace(tmp_pdf, pdf_path)
    finally:
        tmp_pdf.unlink(missing_ok=True)
        shutil.rmtree(profile, ignore_errors=True)
    return pdf_path
