"""Run dbt (dbt-duckdb) against a warehouse file.

dbt runs as a child in its own process group that dies with this process (minhu.proc): a
kill -9 of `minhu run` kills dbt too, and an exception (timeout, SIGTERM, Ctrl-C) kills its group
before it goes on, so no orphan dbt keeps writing a build file.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from minhu import fault
from minhu.proc import run_child
from minhu.progress import Progress
from minhu.settings import get_settings

log = logging.getLogger(__name__)
# dbt's result lines: "12:00:01  3 of 57 OK created sql table model marts.fct_cases ... [OK in 1.2s]"
DBT_RESULT = re.compile(r"\b(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP)\b\s*([^\[]*)")


class DbtError(RuntimeError):
    pass


def dbt_executable() -> str:
    here = Path(sys.executable).parent / "dbt"
    return str(here) if here.exists() else (shutil.which("dbt") or "dbt")


def dbt(
    args: list[str], warehouse: Path, vars: dict | None = None, on_line: Callable[[str], None] | None = None
) -> str:
    """Run one dbt command on `warehouse`; raises DbtError with dbt's own summary on failure.

    `on_line` gets each line of dbt's output as it comes (progress of a long build)."""
    s = get_settings()
    env = {
        **os.environ,
        "MINHU_WAREHOUSE_PATH": str(warehouse),
        "DBT_TARGET_PATH": str(s.home / "dbt" / "target"),
        "DBT_LOG_PATH": str(s.logs_dir / "dbt"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    cmd = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(s.dbt_project_dir),
        "--profiles-dir",
        str(s.dbt_project_dir),
    ]
    if vars:
        import json

        cmd += ["--vars", json.dumps(vars)]
    proc = run_child(cmd, env=env, started=lambda _: fault.point("dbt", delay=2.0), on_line=on_line)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise DbtError(f"dbt {' '.join(args)} failed ({proc.returncode}):\n{tail}\n{proc.stderr[-2000:]}")
    log.info(
        "dbt %s: %s", " ".join(args), proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    )
    return proc.stdout


TESTED = "audit.dbt_cases_tested"  # one row: the newest raw case load a passing dbt build tested


def _case_load_marks(path: Path) -> tuple[datetime | None, datetime | None]:
    """(the newest raw case load a passing build of `path` tested, the newest raw case load in
    it now), each None when its table does not exist; one read-only connection."""
    if not path.exists():
        return None, None
    from minhu import warehouse

    con = warehouse.connect(path, read_only=True)
    try:
        tables = {
            r[0]
            for r in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
                " where table_catalog = current_database()"
            ).fetchall()
        }

        def newest(sql: str, table: str) -> datetime | None:
            return con.execute(sql).fetchone()[0] if table in tables else None

        return (
            newest(f"select max(cases_loaded_until) from {TESTED}", TESTED),
            newest("select max(_loaded_at) from raw.cases", "raw.cases"),
        )
    finally:
        con.close()


def cases_tested_until(path: Path) -> str | None:
    """The newest raw load of cases that a passing ``dbt build`` of `path` (or of the published
    warehouse it was copied from) has tested, or None when none has.

    The staging tests of stg_platform__case_rows read only the raw rows loaded after it (var
    cases_tested_until), so a nightly run after ten years tests what one after a year does. It
    is written only when a build passed (dbt_build): a failed build's rows are tested again
    however often its file is built. A re-loaded batch gets a new load time and is tested
    again; the gate checks the value sets of every row whatever this says."""
    tested, _ = _case_load_marks(path)
    return None if tested is None else tested.isoformat()


def _record_tested(path: Path, loaded_until: datetime) -> None:
    from minhu import warehouse

    con = warehouse.connect(path)
    try:
        con.execute("create schema if not exists audit")
        con.execute(
            f"create or replace table {TESTED} as select ?::timestamptz as cases_loaded_until", [loaded_until]
        )
    finally:
        con.close()


def dbt_build(path: Path) -> None:
    """`dbt build` on a build file, with its nodes done/total as progress (rich on a terminal,
    else a log line each tenth and at every warning or error): what every run (nightly,
    backfill, import, rebuild) builds with. The staging tests of the cases read only the rows
    loaded since the last passing build (cases_tested_until), which this then moves on."""
    with Progress(0, "dbt build", unit=None, log_every=0.1) as progress:

        def on_line(line: str) -> None:
            m = DBT_RESULT.search(line)
            if m:
                if not progress.total:
                    progress.set_total(int(m[2]))
                words = [w for w in m[4].split() if w.strip(".")]  # the name, not dbt's dot leader
                progress.advance(words[-1] if words else f"node {m[1]}", note=m[3])

        tested, loaded = _case_load_marks(path)  # loaded: the newest row this build tests
        dbt_vars = {"cases_tested_until": tested.isoformat()} if tested else None
        dbt(["build"], path, vars=dbt_vars, on_line=on_line)
        if loaded is not None:
            _record_tested(path, loaded)
