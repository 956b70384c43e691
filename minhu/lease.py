"""The warehouse lease: one writer at a time across build → gate → publish, surviving kill -9.

The lease is a small JSON file, ``$MINHU_HOME/.warehouse.lease``, naming its owner (run id,
kind, host, pid and the pid's start time) and a heartbeat that a daemon thread of the owner
refreshes every few seconds. Taking it is a check-and-set under a short ``flock`` on
``.warehouse.lease.guard`` (held for milliseconds, never across work). A lease whose owner is gone
is recovered by the next writer: on the same host when the owner's process no longer exists (or
its pid now belongs to another process), on any host when the heartbeat is older than
``MINHU_LEASE_STALE`` seconds (default 120). A second writer waits, printing one line
``minhu: waiting for run <id> (<kind>, pid <pid> on <host>) since 02:00:13``, for at most
``MINHU_LEASE_WAIT`` seconds (default 3600), then raises `LeaseTimeout` (one line, exit 1).

Readers (reports, ``minhu indicators``) take no lease: they read the published file, which is
only ever replaced by an atomic rename.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from minhu.calendar import TZ
from minhu.errors import LockBusy
from minhu.settings import get_settings

POLL_SECONDS = 0.2


class LeaseTimeout(LockBusy):
    """Another run held the warehouse for longer than the configured wait (exit 5, one line)."""


class LeaseLost(RuntimeError):
    """The lease was taken over (its heartbeat went stale): this run must not publish."""


@dataclass(frozen=True)
class Owner:
    run_id: str
    kind: str
    host: str
    pid: int
    pid_start: int | None
    acquired_at: float
    heartbeat_at: float

    @property
    def since(self) -> str:
        return datetime.fromtimestamp(self.acquired_at, TZ).strftime("%H:%M:%S")

    def describe(self) -> str:
        return f"run {self.run_id} ({self.kind}, pid {self.pid} on {self.host}) since {self.since}"


def lease_path() -> Path:
    return get_settings().home / ".warehouse.lease"


def _pid_start(pid: int) -> int | None:
    """The start time of a process (clock ticks since boot): tells a live pid from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def pid_alive(pid: int, start: int | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if start is not None:
        now = _pid_start(pid)
        if now is not None and now != start:
            return False  # the pid was reused by another process
    return True


def read_owner(path: Path | None = None) -> Owner | None:
    path = path or lease_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Owner(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):  # a torn or foreign file: treat as a dead owner
        return Owner("?", "?", socket.gethostname(), 0, None, 0.0, 0.0)


def stale_reason(owner: Owner, stale_after: float, now: float | None = None) -> str | None:
    """Why the owner's lease can be taken over, or None while it holds."""
    now = time.time() if now is None else now
    if owner.host == socket.gethostname() and (owner.pid <= 0 or not pid_alive(owner.pid, owner.pid_start)):
        return f"its process {owner.pid} is gone"
    if now - owner.heartbeat_at > stale_after:
        return f"no heartbeat for {now - owner.heartbeat_at:.0f} s"
    return None


@contextlib.contextmanager
def _guard() -> Iterator[None]:
    home = get_settings().home
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".warehouse.lease.guard", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(owner: Owner) -> None:
    path = lease_path()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(asdict(owner)), encoding="utf-8")
    os.replace(tmp, path)


class Lease:
    """A held lease; `check()` raises LeaseLost if it was taken over."""

    def __init__(self, owner: Owner, heartbeat_every: float) -> None:
        self.owner = owner
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(heartbeat_every,), name=f"lease-{owner.run_id}", daemon=True
        )
        self._thread.start()

    def _mine(self, cur: Owner | None) -> bool:
        return cur is not None and (cur.run_id, cur.pid, cur.host) == (
            self.owner.run_id,
            self.owner.pid,
            self.owner.host,
        )

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.heartbeat()
            except OSError:
                pass  # a full disk for a moment: the next beat tries again

    def heartbeat(self) -> None:
        with _guard():
            if self._stop.is_set():
                return
            cur = read_owner()
            if not self._mine(cur):
                self.lost = f"taken over by {cur.describe()}" if cur else "the lease file is gone"
                return
            self.owner = Owner(**{**asdict(self.owner), "heartbeat_at": time.time()})
            _write(self.owner)

    @contextlib.contextmanager
    def guarded(self) -> Iterator[None]:
        """Hold the guard while checking the lease is still ours: nobody can take it meanwhile."""
        with _guard():
            cur = read_owner()
            if not self._mine(cur):
                self.lost = self.lost or (
                    f"taken over by {cur.describe()}" if cur else "the lease file is gone"
                )
                raise LeaseLost(
                    f"run {self.owner.run_id} lost the warehouse lease ({self.lost}); nothing published"
                )
            yield

    def release(self) -> None:
        self._stop.set()
        with _guard():
            if self._mine(read_owner()):
                lease_path().unlink(missing_ok=True)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


def _say(line: str) -> None:
    print(f"minhu: {line}", file=sys.stderr, flush=True)


def acquire(run_id: str, kind: str, wait: float | None = None) -> Lease:
    """Take the warehouse lease for `run_id`, waiting up to `wait` seconds (MINHU_LEASE_WAIT)."""
    s = get_settings()
    wait = s.lease_wait if wait is None else wait
    stale_after = s.lease_stale
    deadline = time.monotonic() + wait
    host, pid = socket.gethostname(), os.getpid()
    announced: str | None = None
    while True:
        with _guard():
            cur = read_owner()
            reason = stale_reason(cur, stale_after) if cur else None
            if cur is None or reason:
                if cur is not None:
                    _say(f"taking over the warehouse lease of {cur.describe()}: {reason}")
                now = time.time()
                owner = Owner(run_id, kind, host, pid, _pid_start(pid), now, now)
                _write(owner)
                return Lease(owner, heartbeat_every=max(0.5, min(10.0, stale_after / 6)))
        if announced != cur.run_id:
            _say(f"waiting for {cur.describe()}")
            announced = cur.run_id
        if time.monotonic() >= deadline:
            raise LeaseTimeout(
                f"the warehouse is busy: {cur.describe()} still holds it after {wait:.0f} s of waiting"
                f" (MINHU_LEASE_WAIT); run {run_id} did nothing, try again later"
            )
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


@contextlib.contextmanager
def hold(run_id: str, kind: str, wait: float | None = None) -> Iterator[Lease]:
    lease = acquire(run_id, kind, wait)
    try:
        yield lease
    finally:
        lease.release()
