"""Load landed records into the warehouse's ``raw`` schema, one batch at a time.

A batch is one landing (``api/<source>/<business_date>``) or one imported file
(``file/<source>/<sha256>``). Loading a batch replaces that batch and nothing else, so loading
again gives the same warehouse. Every column is text in ``raw``; dbt staging types it.
``raw.landings`` keeps one row a batch: what was landed and what the source counted.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from minhu import schemas
from minhu.calendar import TZ

LANDINGS_DDL = """
create table if not exists raw.landings (
    batch varchar primary key,
    source varchar not null,
    kind varchar not null,            -- api | file
    business_date date,
    file_name varchar,
    checksum varchar not null,
    landed_count bigint not null,     -- records in the landing
    source_count bigint,              -- what the source's /count said (api), rows read (file)
    quarantined bigint not null default 0,
    loaded_rows bigint,
    landing_path varchar not null,
    loaded_at timestamptz not null
)
"""


def ensure_raw(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    for source in schemas.SOURCES:
        cols = ", ".join(f'"{k}" varchar' for k in schemas.keys(source))
        con.execute(
            f"create table if not exists raw.{source} ({cols}, _batch varchar not null, _row bigint not null,"
            " _loaded_at timestamptz not null)"
        )
    con.execute(LANDINGS_DDL)


def load_batch(
    con: duckdb.DuckDBPyConnection,
    source: str,
    batch: str,
    records_path: Path,
    *,
    kind: str,
    checksum: str,
    landed_count: int,
    source_count: int | None,
    business_date: str | None = None,
    file_name: str | None = None,
    quarantined: int = 0,
) -> int:
    """Replace one batch in raw.<source> with the records of a JSON-lines file; returns rows loaded."""
    ensure_raw(con)
    keys = schemas.keys(source)
    columns = "{" + ", ".join(f"'{k}': 'VARCHAR'" for k in keys) + "}"
    now = datetime.now(TZ)
    con.execute("begin")
    try:
        con.execute(f"delete from raw.{source} where _batch = ?", [batch])
        if landed_count:
            con.execute(
                f"""insert into raw.{source}
                select {", ".join(f'"{k}"' for k in keys)}, ?, row_number() over (), ?
                from read_json(?, format = 'newline_delimited', columns = {columns})""",
                [batch, now, str(records_path)],
            )
        loaded = con.execute(f"select count(*) from raw.{source} where _batch = ?", [batch]).fetchone()[0]
        con.execute("delete from raw.landings where batch = ?", [batch])
        con.execute(
            "insert into raw.landings values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                batch,
                source,
                kind,
                business_date,
                file_name,
                checksum,
                landed_count,
                source_count,
                quarantined,
                loaded,
                str(records_path.parent),
                now,
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return loaded
