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


def cases_tested_until(path: Path) -> str | None:
    """The newest raw load of cases that a passing ``dbt build`` of `path` (or of the published
    warehouse it was copied from) has tested, or None when none has.

    The staging tests of stg_platform__case_rows read only the raw rows loaded after it (var
    cases_tested_until), so a nightly run after ten years tests what one after a year does. It
    is written only when a build passed (dbt_build): a failed build's rows are tested again
    however often its file is built. A re-loaded batch gets a new load time and is tested
    again; the gate checks the value sets of every row whatever this says."""
    until = _read(path, f"select max(cases_loaded_until) from {TESTED}", TESTED)
    return None if until is None else until.isoformat()


def _read(path: Path, sql: str, table: str):
    """One value from `path`, None when the file or `table` does not exist."""
    if not path.exists():
        return None
    import duckdb

    schema, name = table.split(".")
    con = duckdb.connect(str(path), read_only=True)
    try:
        found = con.execute(
            "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchone()
        return con.execute(sql).fetchone()[0] if found else None
    finally:
        con.close()


def _record_tested(path: Path, loaded_until) -> None:
    import duckdb

    con = duckdb.connect(str(path))
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

        until = cases_tested_until(path)
        loaded = _read(path, "select max(_loaded_at) from raw.cases", "raw.cases")  # what this build tests
        dbt(["build"], path, vars={"cases_tested_until": until} if until else None, on_line=on_line)
        if loaded is not None:
            _record_tested(path, loaded)
