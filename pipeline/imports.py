"""`minhu import cases|budget-lines|payments|published-budget FILE...`: files into the warehouse, write-audit-publish.

One command is one build: copy the published warehouse to the build, land every file
(extract/imports.py) and load it as its own batch ``file/<source>/<sha256>`` (replace-by-batch,
so importing a file again replaces it), run ``dbt build``, audit the build with the quality
gate and publish it. A gate failure publishes nothing. A file-level error (missing required
column, undecodable, ...) skips that file -- nothing of it is loaded -- and is reported in its
result (``{"file", "error"}``); the other files still import.

Every data row of a file is accounted for once (rows = loaded + superseded + quarantined):

* quarantined: the row does not parse, or (payments) its budget line -- its ``line_id``
  (minhu/line_id.py: fiscal_year, unit_code, project_code (empty = none), function_code,
  economic_code, fund_source, expense_type) -- is in neither the warehouse's raw.budget_lines
  nor the budget-line files of the same command;
* loaded: the row is the current version of its record after the import (greatest updated_at
  over every batch of raw.<source>; the id is SOURCES[source]["id"]);
* superseded: a valid row that is not: a newer version exists (in the warehouse or any file of
  the command), or it is an exact duplicate (same id and updated_at) of another row. Among exact
  duplicates one row is the current version, deterministically the first by (batch id, row): API
  batches sort before files, files by sha256, rows by file order. Re-importing a file therefore
  gives the same counts.

The counts are computed in SQL on raw.<source> of the build after loading. ``cases`` (case files
only) is the number of distinct valid cases in the warehouse after the import: the rows of
marts.fct_cases of the build that is published (the same figure for every case file of a command).

``published-budget`` files (the published budget tables in the long format of minhu/published.py)
are reference data for the gate, not records of a source: `import_published` lands each file the
same way (immutable landing, quarantine of bad rows), then replaces in raw.published_budget the
tables of every (fiscal year, unit) the file covers (the latest import of a unit's year wins;
``replaced`` counts the rows of earlier imports it replaced) and audits and publishes the build.
The gate then checks those tables against the budget lines (budget.published_tables).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb

from extract.imports import FileLanding, land_file, record_accounting
from extract.load import ensure_raw, load_batch
from extract.published import open_published
from extract.rows import ArchiveError
from minhu import fault, line_id, published, schemas, warehouse

from . import nightly, serve
from .transform import dbt_build

log = logging.getLogger(__name__)

KINDS = {"cases": "cases", "budget-lines": "budget_lines", "payments": "payments"}
ORDER = ("budget_lines", "payments", "cases")  # budget lines first: payments are checked against them


class AccountingError(RuntimeError):
    """The accounting of an import does not add up: a bug; nothing was published."""


def import_files(kind: str, files: list[str | Path]) -> list[dict]:
    """Import archive files of one kind ("cases" | "budget-lines" | "payments"); one result per file."""
    if kind == "published-budget":
        return import_published(files)
    if kind not in KINDS:
        raise ValueError(
            f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}, published-budget"
        )
    return import_sources([(KINDS[kind], f) for f in files])


def import_sources(items: list[tuple[str, str | Path]]) -> list[dict]:
    """Import (source, file) pairs in one build; budget-line files load before payment files."""
    for source, _ in items:
        if source not in schemas.SOURCES:
            raise ValueError(f"unknown source {source!r}")
    results: list[dict | None] = [None] * len(items)
    landed: list[tuple[int, FileLanding]] = []
    seen: dict[str, str] = {}  # batch -> first file of the command with that content
    with nightly.transaction("import") as b:  # lease → build → gate → publish, one transaction
        build = b.path
        con = warehouse.connect(build)
        try:
            con.execute(f"set temp_directory = '{build.with_suffix('.tmp')}'")
            ensure_raw(con)
            for source in ORDER:
                todo = [(i, f) for i, (s, f) in enumerate(items) if s == source]
                if not todo:
                    continue
                reject = _budget_line_check(con) if source == "payments" else None
                for i, f in todo:
                    t0 = time.perf_counter()
                    try:
                        landing = land_file(f, source, reject=reject)
                    except ArchiveError as e:
                        log.error("import failed: %s", e)
                        results[i] = {"file": str(f), "error": str(e)}
                        continue
                    if landing.batch in seen:
                        results[i] = {"file": str(f), "skipped": f"same content as {seen[landing.batch]}"}
                        continue
                    seen[landing.batch] = str(f)
                    t1 = time.perf_counter()
                    _load(con, landing)
                    fault.point("import_load")
                    log.info("%s: landed in %.1f s, loaded in %.1f s", f, t1 - t0, time.perf_counter() - t1)
                    landed.append((i, landing))
        finally:
            con.close()
        if landed:
            t0 = time.perf_counter()
            dbt_build(build)
            t1 = time.perf_counter()
            accounting = _accounting(build, [ld for _, ld in landed])
            t2 = time.perf_counter()
            nightly.gate(build)
            nightly.data_docs(build)
            log.info(
                "dbt build %.1f s, accounting %.1f s, gate %.1f s", t1 - t0, t2 - t1, time.perf_counter() - t2
            )
            nightly.publish(b)
            serve.after_publish()  # post-publish hook under the lease: the BI copy (never raises)
    if landed:
        for i, landing in landed:
            acc = accounting[landing.batch]
            record_accounting(landing, acc)
            results[i] = {"file": str(items[i][1]), **acc}
    return [r for r in results if r is not None]


# --------------------------------------------------------------------------------------------- load


def _budget_line_check(con: duckdb.DuckDBPyConnection):
    """The reject check of payment rows: their budget line must be in raw.budget_lines of the build."""
    known = {r[0] for r in con.execute(f"select distinct {line_id.sql()} from raw.budget_lines").fetchall()}

    def reject(record: dict):
        if line_id.of_record(record) in known:
            return None
        shown = ", ".join(f"{k}={'' if record.get(k) is None else record[k]}" for k in schemas.LINE_KEY)
        return ("budget_line", f"no budget line ({shown}) in the warehouse or in this import")

    return reject


def _load(con: duckdb.DuckDBPyConnection, landing: FileLanding) -> None:
    load_batch(
        con,
        landing.source,
        landing.batch,
        landing.records_path,
        kind="file",
        checksum=landing.sha256,
        landed_count=landing.records,
        source_count=landing.rows,
        file_name=landing.name,
        quarantined=landing.quarantined,
    )
    if landing.source == "payments":
        # The rejected rows are valid records (they stay in records.jsonl) but are not loaded.
        con.execute(
            f"delete from raw.payments p where p._batch = ?"
            f" and not exists (select 1 from raw.budget_lines b where {line_id.sql('b')} = {line_id.sql('p')})",
            [landing.batch],
        )
    loaded = con.execute(f"select count(*) from raw.{landing.source} where _batch = ?", [landing.batch])
    n = loaded.fetchone()[0]
    if n != landing.loadable:
        raise AccountingError(
            f"{landing.file}: {n} rows in raw.{landing.source} but {landing.loadable} expected "
            f"({landing.records} landed, {landing.rejected} rejected)"
        )
    con.execute("update raw.landings set loaded_rows = ? where batch = ?", [n, landing.batch])


# --------------------------------------------------------------------------------------------- accounting


def _id_exprs(source: str) -> list[str]:
    if source == "budget_lines":
        return [line_id.sql("r")]
    return [f'r."{k}"' for k in schemas.SOURCES[source]["id"]]


def _accounting(build: Path, landings: list[FileLanding]) -> dict[str, dict]:
    """loaded / superseded / quarantined (and cases) per batch, in SQL on the build."""
    out: dict[str, dict] = {}
    con = warehouse.connect(build, read_only=True)
    try:
        for source in ORDER:
            mine = [ld for ld in landings if ld.source == source]
            if not mine:
                continue
            batches = [ld.batch for ld in mine]
            marks = ", ".join("?" for _ in batches)
            ids = _id_exprs(source)
            id_cols = ", ".join(f"{e} as k{j}" for j, e in enumerate(ids))
            keys = ", ".join(f"k{j}" for j in range(len(ids)))
            on = " and ".join(f"v.k{j} is not distinct from m.k{j}" for j in range(len(ids)))
            rows = con.execute(
                f"""
                with versions as (
                    select r._batch, r._row, try_cast(r.updated_at as timestamptz) as updated_at, {id_cols}
                    from raw.{source} r
                ),
                mine as (
                    select distinct {keys} from versions where _batch in ({marks})
                ),
                ranked as (
                    select v._batch,
                        row_number() over (
                            partition by {", ".join(f"v.k{j}" for j in range(len(ids)))}
                            order by v.updated_at desc nulls last, v._batch, v._row
                        ) as rn
                    from versions v semi join mine m on {on}
                )
                select _batch, count(*) filter (where rn = 1), count(*) filter (where rn > 1)
                from ranked
                where _batch in ({marks})
                group by _batch
                """,
                [*batches, *batches],
            ).fetchall()
            counts = {b: (loaded, superseded) for b, loaded, superseded in rows}
            for ld in mine:
                loaded, superseded = counts.get(ld.batch, (0, 0))
                acc = {
                    "rows": ld.rows,
                    "loaded": loaded,
                    "superseded": superseded,
                    "quarantined": ld.quarantined,
                }
                if loaded + superseded + ld.quarantined != ld.rows:
                    raise AccountingError(
                        f"{ld.file}: {ld.rows} rows read but {loaded} loaded + {superseded} superseded"
                        f" + {ld.quarantined} quarantined; nothing was published"
                    )
                if source == "cases":
                    acc["cases"] = con.execute(
                        "select count(distinct case_id) from marts.fct_cases"
                    ).fetchone()[0]
                out[ld.batch] = acc
    finally:
        con.close()
    return out


# --------------------------------------------------------------------------------------------- published


def import_published(files: list[str | Path]) -> list[dict]:
    """Import published budget files in one build (gate, publish); one result per file."""
    results: list[dict] = []
    landed: list[tuple[FileLanding, dict]] = []
    with nightly.transaction("import") as b:  # lease → build → gate → publish, one transaction
        build = b.path
        con = warehouse.connect(build)
        try:
            con.execute("create schema if not exists raw")
            con.execute(published.DDL)
            for f in files:
                try:
                    landing = land_file(f, published.SOURCE, reader=open_published)
                except ArchiveError as e:
                    log.error("import failed: %s", e)
                    results.append({"file": str(f), "error": str(e)})
                    continue
                acc = _load_published(con, landing)
                landed.append((landing, acc))
                results.append({"file": str(f), **acc})
        finally:
            con.close()
        if landed:
            nightly.gate(build)
            nightly.publish(b)
            serve.after_publish()  # the BI copy (never raises)
    for landing, acc in landed:
        record_accounting(landing, acc)
    return results


def _load_published(con: duckdb.DuckDBPyConnection, landing: FileLanding) -> dict:
    """Replace the tables of the (fiscal year, unit)s of one landed file; its accounting."""
    cols = published.COLUMN_TYPES
    json_cols = "{" + ", ".join(f"'{k}': 'VARCHAR'" for k in cols) + "}"
    typed = ", ".join(f'cast("{k}" as {t}) as "{k}"' for k, t in cols.items())
    con.execute("begin")
    try:
        if landing.records:
            con.execute(
                f"create temp table incoming as select {typed}, row_number() over () as _row"
                f" from read_json(?, format = 'newline_delimited', columns = {json_cols})",
                [str(landing.records_path)],
            )
        else:
            con.execute(
                f"create temp table incoming as select * exclude (_batch, _loaded_at)"
                f" from {published.TABLE} where false"
            )
        replaced = con.execute(
            f"select count(*) from {published.TABLE} p"
            " where p._batch != ? and exists (select 1 from incoming i"
            " where i.fiscal_year = p.fiscal_year and i.unit_code = p.unit_code)",
            [landing.batch],
        ).fetchone()[0]
        con.execute(
            f"delete from {published.TABLE} p where p._batch = ? or exists (select 1 from incoming i"
            " where i.fiscal_year = p.fiscal_year and i.unit_code = p.unit_code)",
            [landing.batch],
        )
        names = ", ".join(f'"{k}"' for k in cols)
        con.execute(
            f"insert into {published.TABLE} select {names}, ?, _row, now() from incoming", [landing.batch]
        )
        loaded = con.execute("select count(*) from incoming").fetchone()[0]
        con.execute("drop table incoming")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    if loaded + landing.quarantined != landing.rows:
        raise AccountingError(
            f"{landing.file}: {landing.rows} rows read but {loaded} loaded + {landing.quarantined} quarantined"
        )
    units = con.execute(
        f"select distinct unit_code || '/' || fiscal_year from {published.TABLE} where _batch = ? order by 1",
        [landing.batch],
    ).fetchall()
    return {
        "rows": landing.rows,
        "loaded": loaded,
        "superseded": 0,
        "replaced": replaced,  # rows of earlier imports for the same (unit, year), now replaced
        "quarantined": landing.quarantined,
        "units": [u[0] for u in units],
    }
