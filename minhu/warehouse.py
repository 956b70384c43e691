"""The warehouse connection (DuckDB, one pinned version for every tool), and its versions.

Two kinds of file: the published warehouse that reports and users read, and one build file per
run (``build/<run_id>.duckdb``) that the run writes and audits before publishing it
(write-audit-publish; see pipeline/nightly.py). Only a run holding the warehouse lease
(minhu/lease.py) writes a build or publishes; the published file is never opened for writing,
only replaced by an atomic rename, so a reader always sees one whole published version.

Every published version is a row of ``audit.publish_version`` (the history is carried forward
from build to build): its number, the version its build started from, the run, when it was
built, gated (the ``checked_at`` of its passing row in ``audit.gate_runs``) and published.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb

from minhu.calendar import TZ
from minhu.settings import get_settings

PUBLISH_VERSION_DDL = """
create table if not exists audit.publish_version (
    version bigint primary key,       -- 1, 2, ...: one a publish
    base_version bigint not null,     -- the published version the build was copied from (0: none)
    run_id varchar not null,
    kind varchar not null,            -- nightly | backfill | import | rebuild
    host varchar not null,
    pid integer not null,
    built_at timestamptz not null,
    gated_at timestamptz,             -- checked_at of the passing audit.gate_runs row
    published_at timestamptz
)
"""

_pinned: contextvars.ContextVar[duckdb.DuckDBPyConnection | None] = contextvars.ContextVar(
    "minhu_pinned_warehouse", default=None
)


def connect(path: Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = path or get_settings().warehouse_path
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `minhu run --date YYYY-MM-DD` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set timezone = 'Asia/Shanghai'")
    con.execute(f"set memory_limit = '{get_settings().duckdb_memory}'")
    return con


@contextlib.contextmanager
def pinned() -> Iterator[None]:
    """Within this block every `query` reads one published version: the one open when it began.

    A report's many queries then agree with each other even if a run publishes meanwhile (the
    open connection keeps reading the file it opened; the rename gives new readers the new one).
    """
    if _pinned.get() is not None:
        yield
        return
    con = connect(read_only=True)
    token = _pinned.set(con)
    try:
        yield
    finally:
        _pinned.reset(token)
        con.close()


def query(sql: str, params: list | None = None, path: Path | None = None) -> list[dict]:
    """Run one read-only query on the published warehouse; rows as dicts."""
    con = _pinned.get() if path is None else None
    own = con is None
    if own:
        con = connect(path, read_only=True)
    try:
        cur = con.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    finally:
        if own:
            con.close()


# ------------------------------------------------------------------------------------- versions


def version_of(path: Path) -> dict | None:
    """The newest audit.publish_version row of a warehouse file (None: no file or no version)."""
    if not path.exists():
        return None
    con = connect(path, read_only=True)
    try:
        has = con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'audit' and table_name = 'publish_version'"
        ).fetchone()[0]
        if not has:
            return None
        cur = con.execute("select * from audit.publish_version order by version desc limit 1")
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None
    finally:
        con.close()


def published_version() -> int:
    """The version of the published warehouse: 0 when there is none (or it predates versions)."""
    v = version_of(get_settings().warehouse_path)
    return v["version"] if v else 0


def start_version(con: duckdb.DuckDBPyConnection, run_id: str, kind: str) -> int:
    """Record in a fresh build the version it will publish as: one more than it was copied from."""
    con.execute("create schema if not exists audit")
    con.execute(PUBLISH_VERSION_DDL)
    base = con.execute("select coalesce(max(version), 0) from audit.publish_version").fetchone()[0]
    con.execute(
        "insert into audit.publish_version (version, base_version, run_id, kind, host, pid, built_at)"
        " values (?, ?, ?, ?, ?, ?, ?)",
        [base + 1, base, run_id, kind, socket.gethostname(), os.getpid(), datetime.now(TZ)],
    )
    return base + 1


def mark_gated(path: Path) -> None:
    """After a passing gate: the build's unpublished version points at its audit.gate_runs row."""
    con = connect(path)
    try:
        if not con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'audit' and table_name = 'publish_version'"
        ).fetchone()[0]:
            return
        con.execute(
            "update audit.publish_version"
            " set gated_at = (select max(checked_at) from audit.gate_runs where passed)"
            " where version = (select max(version) from audit.publish_version) and published_at is null"
        )
    finally:
        con.close()


def is_gated_version(con: duckdb.DuckDBPyConnection, version: int) -> bool:
    """Is `version` the newest of the file and does it have a passing audit.gate_runs row?"""
    if not con.execute(
        "select count(*) from information_schema.tables where table_schema = 'audit' and table_name = 'gate_runs'"
    ).fetchone()[0]:
        return False  # no gate has ever passed on this file
    row = con.execute(
        "select v.version = (select max(version) from audit.publish_version)"
        " and exists (select 1 from audit.gate_runs g where g.passed and g.checked_at = v.gated_at)"
        " from audit.publish_version v where v.version = ?",
        [version],
    ).fetchone()
    return bool(row and row[0])


def is_gated(v: dict | None, path: Path) -> bool:
    """Does the file's version have a passing audit.gate_runs row (the invariant of a publish)?"""
    if not v or v.get("gated_at") is None:
        return False
    con = connect(path, read_only=True)
    try:
        return is_gated_version(con, v["version"])
    finally:
        con.close()
