"""Serving, the DuckDB side: the published warehouse's served schemas exported to CSV files,
each column with its PostgreSQL type (pipeline/serve.py loads them into Postgres).

DuckDB types map to Postgres types (`pg_type`); nested types (lists, structs, maps) are served
as jsonb, unknown types as text (a logged warning), never an outage. `export` reads the
PUBLISHED file and notices a publish that replaces it meanwhile (the export is then repeated on
the new file), so the recorded sha256 is that of the file the rows came from.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from minhu import warehouse

log = logging.getLogger(__name__)


class ServingError(RuntimeError):
    """Serving failed; nothing changed in Postgres (the transaction was rolled back)."""


# ------------------------------------------------------------------------------------ types


def pg_type(duck_type: str) -> tuple[str, str]:
    """(Postgres column type, DuckDB select expression template) for a DuckDB column type.

    The template has ``{c}`` for the quoted column. Nested types (lists, structs, maps) are
    served as jsonb; unknown types as text (a logged warning), never an outage.
    """
    t = duck_type.upper()
    simple = {
        "BOOLEAN": "boolean",
        "TINYINT": "smallint",
        "SMALLINT": "smallint",
        "INTEGER": "integer",
        "BIGINT": "bigint",
        "HUGEINT": "numeric(39, 0)",
        "UTINYINT": "smallint",
        "USMALLINT": "integer",
        "UINTEGER": "bigint",
        "UBIGINT": "numeric(20, 0)",
        "UHUGEINT": "numeric(39, 0)",
        "FLOAT": "real",
        "DOUBLE": "double precision",
        "VARCHAR": "text",
        "DATE": "date",
        "TIME": "time",
        "TIME WITH TIME ZONE": "timetz",
        "TIMESTAMP": "timestamp",
        "TIMESTAMP_S": "timestamp",
        "TIMESTAMP_MS": "timestamp",
        "TIMESTAMP_NS": "timestamp",
        "TIMESTAMP WITH TIME ZONE": "timestamptz",
        "INTERVAL": "interval",
        "UUID": "uuid",
    }
    if t in simple:
        return simple[t], "{c}"
    if m := re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t):
        return f"numeric({m.group(1)}, {m.group(2)})", "{c}"
    if t == "BLOB":
        return "bytea", "case when {c} is null then null else '\\x' || hex({c}) end"
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION")) or t == "JSON":
        return "jsonb", "to_json({c})"
    if t.startswith("ENUM") or t.startswith("VARCHAR"):
        return "text", "cast({c} as varchar)"
    log.warning("serving: DuckDB type %s has no Postgres mapping; served as text", duck_type)
    return "text", "cast({c} as varchar)"


def qi(name: str) -> str:
    """A quoted identifier (for both DuckDB and Postgres)."""
    return '"' + name.replace('"', '""') + '"'


# ------------------------------------------------------------------------------------ reading


@dataclass
class Table:
    schema: str
    name: str
    columns: list[tuple[str, str, str]]  # (name, postgres type, duckdb select expression)
    rows: int
    csv: Path


@dataclass
class Snapshot:
    path: Path
    sha256: str
    mtime: datetime
    gate_checked_at: datetime | None
    tables: list[Table]


def _sha256(fh) -> str:
    h = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        h.update(block)
    return h.hexdigest()


def export(path: Path, schemas: tuple[str, ...], workdir: Path) -> Snapshot:
    """Export every table of the schemas of the warehouse file at `path` to CSV under workdir.

    The file is opened first and its inode kept, so a publish that replaces it meanwhile is
    noticed (the export is then repeated on the new file) and the recorded sha256 is that of
    the file the rows came from.
    """
    for _ in range(3):
        with open(path, "rb") as fh:
            inode = os.fstat(fh.fileno()).st_ino
            con = warehouse.connect(path, read_only=True)
            try:
                if os.stat(path).st_ino != inode:
                    continue  # replaced between open and connect: take the new one
                snap = _export(con, path, schemas, workdir)
            finally:
                con.close()
            fh.seek(0)
            snap.sha256 = _sha256(fh)
            snap.mtime = datetime.fromtimestamp(os.fstat(fh.fileno()).st_mtime, UTC)
            return snap
    raise ServingError(f"the published warehouse {path} kept changing while being read")


def _export(con, path: Path, schemas: tuple[str, ...], workdir: Path) -> Snapshot:
    found = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
    missing = [s for s in schemas if s not in found]
    if missing:
        raise ServingError(f"the published warehouse {path} has no schema {', '.join(missing)}")
    gate = None
    if con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'audit' and table_name = 'gate_runs'"
    ).fetchone()[0]:
        gate = con.execute("select max(checked_at) from audit.gate_runs where passed").fetchone()[0]
    tables = []
    names = con.execute(
        "select table_schema, table_name from information_schema.tables"
        " where table_catalog = current_database() and table_schema in (select unnest(?))"
        " order by table_schema, table_name",
        [list(schemas)],
    ).fetchall()
    for schema, name in names:
        cols = con.execute(
            "select column_name, data_type from duckdb_columns()"
            " where database_name = current_database() and schema_name = ? and table_name = ?"
            " order by column_index",
            [schema, name],
        ).fetchall()
        columns = []
        for col, duck_type in cols:
            pg, expr = pg_type(duck_type)
            columns.append((col, pg, expr.format(c=qi(col))))
        csv = workdir / f"{len(tables):04d}.csv"
        select = ", ".join(f"{expr} as {qi(col)}" for col, _, expr in columns)
        target = str(csv).replace("'", "''")
        rows = con.execute(
            f"copy (select {select} from {qi(schema)}.{qi(name)}) to '{target}' (format csv, header false)"
        ).fetchone()[0]
        tables.append(Table(schema, name, columns, int(rows), csv))
    return Snapshot(path, "", datetime.now(UTC), gate, tables)
