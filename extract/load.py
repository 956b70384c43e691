"""Load landed records into the warehouse's ``raw`` schema, one batch at a time.

A batch is one landing (``api/<source>/<business_date>``) or one imported file
(``file/<source>/<sha256>``). Loading a batch replaces that batch and nothing else, so loading
again gives the same warehouse. Every column is text in ``raw``; dbt staging types it.
``raw.landings`` keeps one row a batch: what was landed and what the source counted.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from minhu import schemas
from minhu.calendar import TZ

if TYPE_CHECKING:
    from .land import Manifest

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


def _json_columns(con: duckdb.DuckDBPyConnection, source: str) -> tuple[list[str], str]:
    """Make sure raw exists; the source's keys and the ``columns`` of a read_json of its records
    (every key as text)."""
    ensure_raw(con)
    keys = schemas.keys(source)
    return keys, "{" + ", ".join(f"'{k}': 'VARCHAR'" for k in keys) + "}"


@contextlib.contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """begin … commit; rollback (and re-raise) on an error, the commit's own included."""
    con.execute("begin")
    try:
        yield
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


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
    keys, columns = _json_columns(con, source)
    now = datetime.now(TZ)
    with _transaction(con):
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
    return loaded


def load_day(
    con: duckdb.DuckDBPyConnection,
    source: str,
    day: date,
    records_path: Path,
    *,
    checksum: str,
    landed_count: int,
    source_count: int | None,
) -> int:
    """Load one business date's records of a source as its batch ``api/<source>/<day>`` (what a
    nightly day window lands); returns rows loaded."""
    d = day.isoformat()
    return load_batch(
        con,
        source,
        f"api/{source}/{d}",
        records_path,
        kind="api",
        checksum=checksum,
        landed_count=landed_count,
        source_count=source_count,
        business_date=d,
    )


def load_day_landing(con: duckdb.DuckDBPyConnection, source: str, day: date, landing: Manifest) -> int:
    """Load a landing of one business date (extract.land) as that date's batch; returns rows loaded."""
    return load_day(
        con,
        source,
        day,
        landing.records_path,
        checksum=landing.checksum,
        landed_count=landing.count,
        source_count=landing.source_count,
    )


def load_day_file(con: duckdb.DuckDBPyConnection, source: str, day: date, records_path: Path) -> int:
    """Load a JSON-lines file of records written outside extract.land (a test's, a bench's) as the
    batch of one business date, as a landing of the same records would be: the checksum is the
    file's sha256, the landed and the source count its number of lines. Returns rows loaded."""
    data = records_path.read_bytes()
    checksum, n = hashlib.sha256(data).hexdigest(), len(data.splitlines())
    return load_day(con, source, day, records_path, checksum=checksum, landed_count=n, source_count=n)


def load_days(
    con: duckdb.DuckDBPyConnection,
    source: str,
    records_path: Path,
    days: list[date],
    *,
    checksum: str,
    landed_count: int,
) -> int:
    """Load a landing of several business dates (a backfill's month window) as one batch a date.

    Each record goes to ``api/<source>/<D>``, D the local (Asia/Shanghai) date of its
    ``updated_at`` — the batch the nightly day window of D loads, with the same records — and
    every date of `days` gets its raw.landings row (an empty date too, as a nightly landing of
    it would). The window was reconciled with the source's /count as a whole when it was landed
    (``landing_path`` names that landing), so a date's source_count is left null: no /count was
    asked for the date alone. Replaces exactly those batches; returns rows loaded.
    """
    keys, columns = _json_columns(con, source)
    prefix = f"api/{source}/"
    batches = [prefix + d.isoformat() for d in days]
    first, last = min(days), max(days)
    now = datetime.now(TZ)
    cols = ", ".join(f'"{k}"' for k in keys)
    with _transaction(con):
        con.execute(f"delete from raw.{source} where list_contains(?, _batch)", [batches])
        if landed_count:
            # the source filters the window on updated_at, so every record has a date of `days`;
            # one it could not be placed by (no parseable updated_at) stays in the first date's batch
            con.execute(
                f"""insert into raw.{source}
                with r as (
                    select *, row_number() over () as _pos
                    from read_json(?, format = 'newline_delimited', columns = {columns})
                ), d as (
                    select *, cast(timezone('Asia/Shanghai', try_cast(updated_at as timestamptz)) as date) as _d
                    from r
                ), b as (
                    select *, ? || strftime(case when _d between ? and ? then _d else ? end, '%Y-%m-%d') as _b
                    from d
                )
                select {cols}, _b, row_number() over (partition by _b order by _pos), ?
                from b""",
                [str(records_path), prefix, first, last, first, now],
            )
        counts = dict(
            con.execute(
                f"select _batch, count(*) from raw.{source} where list_contains(?, _batch) group by 1",
                [batches],
            ).fetchall()
        )
        if sum(counts.values()) != landed_count:
            raise RuntimeError(
                f"{records_path}: {sum(counts.values())} rows loaded but the landing holds {landed_count}"
            )
        con.execute("delete from raw.landings where list_contains(?, batch)", [batches])
        con.executemany(
            "insert into raw.landings (batch, source, kind, business_date, file_name, checksum, landed_count,"
            " source_count, quarantined, loaded_rows, landing_path, loaded_at)"
            " values (?, ?, 'api', ?, null, ?, ?, null, 0, ?, ?, ?)",
            [
                [b, source, d, checksum, counts.get(b, 0), counts.get(b, 0), str(records_path.parent), now]
                for b, d in zip(batches, days, strict=True)
            ],
        )
    return sum(counts.values())
