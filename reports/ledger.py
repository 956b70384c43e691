"""The delivery ledger: which report went to which recipient list, exactly once.

One SQLite file, ``$MINHU_HOME/deliveries.sqlite``, one row per delivery::

    (report, period, recipients_hash, generation)  unique
    state: claimed → sent | failed

A sender *claims* a delivery before it talks to SMTP: an INSERT (or a take-over UPDATE) inside a
``BEGIN IMMEDIATE`` transaction, so of two senders racing for the same report exactly one wins;
the other waits for the winner and then reports "already sent" (or takes over if it failed).

* ``sent``: never sent again, except by ``--resend``, which claims a new generation.
* ``failed`` (SMTP unreachable after the retries, or a permanent refusal): the next run claims it
  again.
* ``claimed`` whose owner process is dead (kill -9, OOM, a lost Airflow worker) and that never
  reached ``sent``: the next run takes it over. The owner is (host, pid, process start time), so
  a recycled pid is not mistaken for the owner.

The crash window between the relay's "250 accepted" and the ledger's ``sent`` is at-least-once:
the take-over sends again, with the Message-ID the ledger stored at the first claim (a receiving
client can tell it is the same message). See the README's delivery notes.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from minhu.calendar import TZ
from minhu.settings import get_settings

SCHEMA = """
create table if not exists deliveries (
    id integer primary key,
    report text not null,
    period text not null,
    recipients_hash text not null,
    generation integer not null,
    recipients text not null,
    subject text,
    message_id text,
    state text not null check (state in ('claimed', 'sent', 'failed')),
    owner_host text,
    owner_pid integer,
    owner_start text,
    attempts integer not null default 0,
    claimed_at text not null,
    updated_at text not null,
    sent_at text,
    error text,
    unique (report, period, recipients_hash, generation)
)
"""

# a claim held by a process on another host cannot be checked; it is stale after this long
FOREIGN_CLAIM_STALE_SECONDS = 3600


def recipients_hash(to: list[str]) -> str:
    return hashlib.sha256(",".join(sorted(a.strip().lower() for a in to)).encode()).hexdigest()[:16]


def _now() -> str:
    return datetime.now(TZ).isoformat(timespec="milliseconds")


def process_start(pid: int) -> str | None:
    """The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22); None when
    the process does not exist or is a zombie (dead, not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def owner_alive(host: str | None, pid: int | None, start: str | None, updated_at: str) -> bool:
    if pid is None:
        return False
    if host != socket.gethostname():
        age = datetime.now(TZ) - datetime.fromisoformat(updated_at)
        return age.total_seconds() < FOREIGN_CLAIM_STALE_SECONDS
    if not Path("/proc").is_dir():  # no /proc: a signal-0 probe (cannot detect pid reuse)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return process_start(pid) == start


@dataclass(frozen=True)
class Delivery:
    id: int
    report: str
    period: str
    generation: int
    state: str
    message_id: str | None
    owner_pid: int | None
    attempts: int
    sent_at: str | None
    error: str | None


@dataclass(frozen=True)
class Claim:
    """The outcome of `claim`: `won` (this process sends `delivery`), else `delivery` is the row
    that is already sent, or held by a live process (`busy`)."""

    won: bool
    delivery: Delivery
    busy: bool = False
    took_over: bool = False


class Ledger:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or get_settings().deliveries_path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("pragma busy_timeout = 60000")
        return conn

    @contextmanager
    def _tx(self):
        """A write transaction: BEGIN IMMEDIATE takes the write lock first, so the read that
        decides and the write that claims cannot interleave with another sender's."""
        with closing(self._connect()) as conn:
            conn.execute("begin immediate")
            try:
                conn.execute(SCHEMA)
                yield conn
            except BaseException:
                conn.execute("rollback")
                raise
            conn.execute("commit")

    @staticmethod
    def _row(r: sqlite3.Row) -> Delivery:
        return Delivery(
            r["id"],
            r["report"],
            r["period"],
            r["generation"],
            r["state"],
            r["message_id"],
            r["owner_pid"],
            r["attempts"],
            r["sent_at"],
            r["error"],
        )

    @staticmethod
    def _latest(conn, report: str, period: str, rhash: str) -> sqlite3.Row | None:
        return conn.execute(
            "select * from deliveries where report = ? and period = ? and recipients_hash = ?"
            " order by generation desc limit 1",
            [report, period, rhash],
        ).fetchone()

    def latest(self, report: str, period: str, to: list[str]) -> Delivery | None:
        if not self.path.exists():
            return None
        with closing(self._connect()) as conn:
            try:
                r = self._latest(conn, report, period, recipients_hash(to))
            except sqlite3.OperationalError:  # the table is created by the first claim
                return None
        return None if r is None else self._row(r)

    def history(self, report: str, period: str) -> list[Delivery]:
        if not self.path.exists():
            return []
        with closing(self._connect()) as conn:
            try:
                rows = conn.execute(
                    "select * from deliveries where report = ? and period = ? order by id", [report, period]
                ).fetchall()
            except sqlite3.OperationalError:  # the table is created by the first claim
                return []
        return [self._row(r) for r in rows]

    def claim(
        self,
        report: str,
        period: str,
        to: list[str],
        message_id: str,
        subject: str = "",
        resend: bool = False,
        legacy_sent: bool = False,
    ) -> Claim:
        """Claim the delivery of (report, period, to) for this process, atomically.

        `resend`: a new delivery (the next generation), whatever the state of the last one.
        `legacy_sent`: a send marker from before the ledger exists; recorded as sent."""
        rhash = recipients_hash(to)
        me = (socket.gethostname(), os.getpid(), process_start(os.getpid()))
        now = _now()
        with self._tx() as conn:
            last = self._latest(conn, report, period, rhash)

            def insert(generation: int, state: str = "claimed", error: str | None = None) -> Delivery:
                cur = conn.execute(
                    "insert into deliveries (report, period, recipients_hash, generation, recipients,"
                    " subject, message_id, state, owner_host, owner_pid, owner_start, claimed_at,"
                    " updated_at, sent_at, error) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        report,
                        period,
                        rhash,
                        generation,
                        ",".join(to),
                        subject,
                        message_id,
                        state,
                        *me,
                        now,
                        now,
                        now if state == "sent" else None,
                        error,
                    ],
                )
                return self._row(
                    conn.execute("select * from deliveries where id = ?", [cur.lastrowid]).fetchone()
                )

            if resend:
                return Claim(True, insert(0 if last is None else last["generation"] + 1))
            if last is None:
                if legacy_sent:
                    return Claim(False, insert(0, "sent", "recorded from a send marker (sent-*.json)"))
                return Claim(True, insert(0))
            if last["state"] == "sent":
                return Claim(False, self._row(last))
            if last["state"] == "claimed" and owner_alive(
                last["owner_host"], last["owner_pid"], last["owner_start"], last["updated_at"]
            ):
                return Claim(False, self._row(last), busy=True)
            # failed, or claimed by a process that died before "sent": take it over, keeping the
            # Message-ID of the first claim (a resent message is recognisably the same one)
            conn.execute(
                "update deliveries set state = 'claimed', owner_host = ?, owner_pid = ?, owner_start = ?,"
                " updated_at = ?, message_id = coalesce(message_id, ?) where id = ?",
                [*me, now, message_id, last["id"]],
            )
            row = conn.execute("select * from deliveries where id = ?", [last["id"]]).fetchone()
            return Claim(True, self._row(row), took_over=True)

    def _finish(self, delivery: Delivery, state: str, attempts: int, error: str | None) -> bool:
        """Record the outcome of this process's claim; False if the claim is no longer ours."""
        now = _now()
        with self._tx() as conn:
            cur = conn.execute(
                "update deliveries set state = ?, attempts = attempts + ?, error = ?, updated_at = ?,"
                " sent_at = case when ? = 'sent' then ? else sent_at end"
                " where id = ? and state = 'claimed' and owner_host = ? and owner_pid = ?",
                [state, attempts, error, now, state, now, delivery.id, socket.gethostname(), os.getpid()],
            )
            return cur.rowcount == 1

    def attempt_failed(self, delivery: Delivery, error: str) -> None:
        """One SMTP attempt failed, more follow: count it (the claim stays ours)."""
        with self._tx() as conn:
            conn.execute(
                "update deliveries set attempts = attempts + 1, error = ?, updated_at = ?"
                " where id = ? and state = 'claimed' and owner_pid = ?",
                [error, _now(), delivery.id, os.getpid()],
            )

    def mark_sent(self, delivery: Delivery) -> bool:
        """The relay accepted the message (the successful attempt counts)."""
        return self._finish(delivery, "sent", 1, None)

    def mark_failed(self, delivery: Delivery, error: str, attempts: int = 1) -> bool:
        """The delivery gave up (the last failed attempt counts, unless `attempts=0`)."""
        return self._finish(delivery, "failed", attempts, error)

    def wait(
        self, report: str, period: str, to: list[str], timeout: float, poll: float = 0.2
    ) -> Delivery | None:
        """Wait while a live process holds the claim; the latest delivery once it is settled
        (sent, failed, or its owner died), or the busy one when `timeout` runs out."""
        deadline = time.monotonic() + timeout
        while True:
            d = self.latest(report, period, to)
            if d is None or d.state != "claimed" or time.monotonic() >= deadline:
                return d
            with closing(self._connect()) as conn:
                r = conn.execute("select * from deliveries where id = ?", [d.id]).fetchone()
            if not owner_alive(r["owner_host"], r["owner_pid"], r["owner_start"], r["updated_at"]):
                return d
            time.sleep(poll)
