"""The warehouse connection (DuckDB, one pinned version for every tool).

Two files: the published warehouse that reports and users read, and the build warehouse a run
writes and audits before it is published (write-audit-publish). DuckDB allows one writer per
file at a time; the pipeline holds `lock()` for the whole of a run.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

import duckdb

from minhu.settings import get_settings


def connect(path: Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = path or get_settings().warehouse_path
    if read_only and not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `minhu run --date YYYY-MM-DD` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    con.execute("set timezone = 'Asia/Shanghai'")
    return con


@contextlib.contextmanager
def lock(name: str = "warehouse") -> Iterator[None]:
    """An exclusive lock under $MINHU_HOME: one pipeline writer at a time."""
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.home / f".{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def query(sql: str, params: list | None = None, path: Path | None = None) -> list[dict]:
    """Run one read-only query on the published warehouse; rows as dicts."""
    con = connect(path, read_only=True)
    try:
        cur = con.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()
