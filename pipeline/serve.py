"""Serving: the published marts in PostgreSQL, for BI tools (Superset, Metabase).

DuckDB has one writer per file, and BI tools keep connections open for hours, so they do not
read the warehouse file. After every publish, `after_publish()` copies every table of the
served DuckDB schemas (default ``marts``: the facts, the dims and ``fct_indicators``) from the
PUBLISHED warehouse into PostgreSQL schemas of the same names, in ONE transaction:

1. take a transaction-level advisory lock (two servers run one after the other);
2. create ``<schema>__minhu_staging``, create each table with the mapped column types and
   COPY its rows in (CSV exported by DuckDB, streamed with psycopg2), then check the row count;
3. lock the served tables ACCESS EXCLUSIVE (waiting at most MINHU_SERVING_LOCK_TIMEOUT
   seconds for running BI queries), drop them and their schema, rename the staging schema to
   the served name, grant SELECT to MINHU_SERVING_READERS;
4. record the version in ``minhu_serving.publications`` (sha256 of the published file, its
   newest quality-gate run, table and row counts) and commit.

Readers therefore see the old set or the new set, never half of either: until the commit
they read the old tables; a query that started on the old tables finishes before the swap
(the lock); a query after the commit resolves the names to the new tables. (A REPEATABLE READ
or SERIALIZABLE reader transaction that began before the swap sees the new tables empty: BI
tools use READ COMMITTED, Postgres's default.) A failure anywhere rolls the whole
transaction back: the served set stays as it was, the data engineers get one alert email, and
the warehouse stays published (serving never unpublishes).

The served schemas belong to minhu: objects created in them are dropped by the next serve, and
views in other schemas that depend on served tables make the swap fail loudly (it names them)
instead of being dropped silently.

The DuckDB side (types, the export of the published file) is pipeline/serve_export.py.

Settings (environment): MINHU_SERVING_DSN (a libpq DSN or URL; unset = serving is off and the
log says so), MINHU_SERVING_SCHEMAS (comma-separated DuckDB schemas, default ``marts``),
MINHU_SERVING_READERS (comma-separated roles granted USAGE and SELECT), MINHU_SERVING_LOCK_TIMEOUT
(seconds, default 60).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from minhu.settings import get_settings
from reports import mail

from .serve_export import ServingError, export

log = logging.getLogger(__name__)

META_SCHEMA = "minhu_serving"
STAGING_SUFFIX = "__minhu_staging"
ADVISORY_KEY = 0x6D696E6875  # "minhu": one serve at a time per Postgres database

PUBLICATIONS_DDL = f"""
create table if not exists {META_SCHEMA}.publications (
    served_at timestamptz not null default clock_timestamp(),  -- after the swap, under the lock
    published_sha256 text not null,
    published_path text not null,
    published_mtime timestamptz,
    gate_checked_at timestamptz,
    version text,
    schemas text[] not null,
    tables integer not null,
    total_rows bigint not null,
    seconds double precision not null
)
"""
CURRENT_VIEW = f"""
create or replace view {META_SCHEMA}.current as
select * from {META_SCHEMA}.publications order by served_at desc limit 1
"""


@dataclass(frozen=True)
class ServingConfig:
    dsn: str
    schemas: tuple[str, ...]
    readers: tuple[str, ...]
    lock_timeout: float

    @property
    def where(self) -> str:
        return redact(self.dsn)


def _list(value: str | None, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    items = tuple(x.strip() for x in (value or "").split(",") if x.strip())
    return items or default


def config() -> ServingConfig | None:
    """The serving settings from the environment; None when MINHU_SERVING_DSN is unset."""
    dsn = os.environ.get("MINHU_SERVING_DSN", "").strip()
    if not dsn:
        return None
    schemas = _list(os.environ.get("MINHU_SERVING_SCHEMAS"), ("marts",))
    for name in schemas:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name == META_SCHEMA:
            raise ValueError(f"MINHU_SERVING_SCHEMAS: {name!r} is not a schema minhu can serve")
    timeout = os.environ.get("MINHU_SERVING_LOCK_TIMEOUT", "").strip() or "60"
    try:
        lock_timeout = float(timeout)
    except ValueError:
        raise ValueError(f"MINHU_SERVING_LOCK_TIMEOUT: {timeout!r} is not a number of seconds") from None
    return ServingConfig(dsn, schemas, _list(os.environ.get("MINHU_SERVING_READERS")), lock_timeout)


def redact(dsn: str) -> str:
    """host:port/dbname of a DSN, for logs and alerts (never the password)."""
    from psycopg2.extensions import parse_dsn

    try:
        p = parse_dsn(dsn)
    except Exception:  # noqa: BLE001 - an unparsable DSN is reported as such, not echoed
        return "<unparsable MINHU_SERVING_DSN>"
    return f"{p.get('host', 'localhost')}:{p.get('port', '5432')}/{p.get('dbname', p.get('user', ''))}"


# ------------------------------------------------------------------------------------ serving


def current(dsn: str) -> dict | None:
    """The newest recorded publication in Postgres, or None."""
    import psycopg2
    import psycopg2.extras

    with psycopg2.connect(dsn) as conn, conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute("select to_regclass(%s) is not null as ok", [f"{META_SCHEMA}.publications"])
        if not cur.fetchone()["ok"]:
            return None
        cur.execute(f"select * from {META_SCHEMA}.current")
        row = cur.fetchone()
    conn.close()
    return dict(row) if row else None


def serve(force: bool = False, version: str | None = None, cfg: ServingConfig | None = None) -> dict:
    """Copy the published warehouse's served schemas into Postgres in one transaction.

    Skips (returns ``skipped``) when the served version already is the published file's
    sha256, unless force. Raises ServingError naming what failed; Postgres is then unchanged.
    """
    import psycopg2
    from psycopg2 import sql

    cfg = cfg or config()
    if cfg is None:
        raise ValueError("serving is off: set MINHU_SERVING_DSN (e.g. postgresql://user@host:5432/minhu)")
    s = get_settings()
    if not s.warehouse_path.exists():
        raise FileNotFoundError(f"nothing to serve: no published warehouse at {s.warehouse_path}")
    started = time.monotonic()
    try:
        conn = psycopg2.connect(cfg.dsn, connect_timeout=30, application_name="minhu serve")
    except psycopg2.Error as exc:
        raise ServingError(f"cannot connect to the serving database {cfg.where}: {_first_line(exc)}") from exc
    try:
        with tempfile.TemporaryDirectory(prefix="serve-", dir=_workroot(s.home)) as tmp:
            cur = conn.cursor()
            cur.execute("select pg_advisory_xact_lock(%s)", [ADVISORY_KEY])  # two servers: one at a time
            snap = export(s.warehouse_path, cfg.schemas, Path(tmp))
            cur.execute("select to_regclass(%s) is not null", [f"{META_SCHEMA}.publications"])
            if cur.fetchone()[0] and not force:
                cur.execute(f"select published_sha256, schemas from {META_SCHEMA}.current")
                row = cur.fetchone()
                if row and row[0] == snap.sha256 and list(row[1]) == list(cfg.schemas):
                    conn.rollback()
                    return {"status": "skipped", "reason": "already served", "sha256": snap.sha256}
            total = 0
            for schema in cfg.schemas:
                staging = sql.Identifier(schema + STAGING_SUFFIX)
                cur.execute(sql.SQL("drop schema if exists {} cascade").format(staging))
                cur.execute(sql.SQL("create schema {}").format(staging))
            for t in snap.tables:
                target = sql.SQL("{}.{}").format(
                    sql.Identifier(t.schema + STAGING_SUFFIX), sql.Identifier(t.name)
                )
                cols = sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(pg)) for c, pg, _ in t.columns
                )
                cur.execute(sql.SQL("create table {} ({})").format(target, cols))
                with open(t.csv, "rb") as fh:
                    cur.copy_expert(
                        sql.SQL("copy {} from stdin with (format csv, encoding 'UTF8')")
                        .format(target)
                        .as_string(conn),
                        fh,
                    )
                cur.execute(sql.SQL("select count(*) from {}").format(target))
                loaded = cur.fetchone()[0]
                if loaded != t.rows:
                    raise ServingError(
                        f"{t.schema}.{t.name}: {loaded} rows loaded into Postgres, {t.rows} in DuckDB"
                    )
                total += loaded
            cur.execute("select set_config('lock_timeout', %s, true)", [f"{int(cfg.lock_timeout * 1000)}ms"])
            for schema in cfg.schemas:
                _swap(cur, sql, schema, cfg.readers)
            cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(META_SCHEMA)))
            cur.execute(PUBLICATIONS_DDL)
            cur.execute(CURRENT_VIEW)
            for role in cfg.readers:
                cur.execute(
                    sql.SQL("grant usage on schema {} to {}").format(
                        sql.Identifier(META_SCHEMA), sql.Identifier(role)
                    )
                )
                cur.execute(
                    sql.SQL("grant select on all tables in schema {} to {}").format(
                        sql.Identifier(META_SCHEMA), sql.Identifier(role)
                    )
                )
            seconds = time.monotonic() - started
            cur.execute(
                f"insert into {META_SCHEMA}.publications (published_sha256, published_path, published_mtime,"
                " gate_checked_at, version, schemas, tables, total_rows, seconds)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    snap.sha256,
                    str(snap.path),
                    snap.mtime,
                    snap.gate_checked_at,
                    version,
                    list(cfg.schemas),
                    len(snap.tables),
                    total,
                    seconds,
                ],
            )
            conn.commit()
    except ServingError:
        conn.rollback()
        raise
    except psycopg2.Error as exc:
        conn.rollback()
        raise ServingError(
            f"serving to {cfg.where} failed, nothing changed there: {_first_line(exc)}"
        ) from exc
    finally:
        conn.close()
    out = {
        "status": "served",
        "to": cfg.where,
        "schemas": list(cfg.schemas),
        "tables": len(snap.tables),
        "rows": total,
        "sha256": snap.sha256,
        "gate_checked_at": snap.gate_checked_at.isoformat() if snap.gate_checked_at else None,
        "seconds": round(time.monotonic() - started, 2),
    }
    log.info("served %s tables (%s rows) of %s to %s", out["tables"], total, snap.path, cfg.where)
    return out


DEPENDENTS_SQL = """
select distinct quote_ident(vn.nspname) || '.' || quote_ident(v.relname)
from pg_depend d
join pg_rewrite r on r.oid = d.objid and d.classid = 'pg_rewrite'::regclass
join pg_class v on v.oid = r.ev_class
join pg_namespace vn on vn.oid = v.relnamespace
join pg_class t on t.oid = d.refobjid and d.refclassid = 'pg_class'::regclass
join pg_namespace tn on tn.oid = t.relnamespace
where tn.nspname = %s and vn.nspname <> %s
order by 1
"""


def _swap(cur, sql, schema: str, readers: tuple[str, ...]) -> None:
    """Replace the served schema by its staging schema (inside the caller's transaction)."""
    ident = sql.Identifier(schema)
    cur.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relkind in ('r', 'p') order by c.relname",
        [schema],
    )
    tables = [sql.SQL("{}.{}").format(ident, sql.Identifier(name)) for (name,) in cur.fetchall()]
    if tables:
        # wait (at most lock_timeout) for the BI queries on the old tables to finish
        cur.execute(sql.SQL("lock table {} in access exclusive mode").format(sql.SQL(", ").join(tables)))
    cur.execute(DEPENDENTS_SQL, [schema, schema])
    dependents = [r[0] for r in cur.fetchall()]
    if dependents:
        raise ServingError(
            f"views outside the served schema {schema} depend on its tables and would be dropped: "
            f"{', '.join(dependents)}; save them as BI datasets (or in another database) and run `minhu serve`"
        )
    cur.execute(sql.SQL("drop schema if exists {} cascade").format(ident))
    cur.execute(
        sql.SQL("alter schema {} rename to {}").format(sql.Identifier(schema + STAGING_SUFFIX), ident)
    )
    for role in readers:
        cur.execute(sql.SQL("grant usage on schema {} to {}").format(ident, sql.Identifier(role)))
        cur.execute(
            sql.SQL("grant select on all tables in schema {} to {}").format(ident, sql.Identifier(role))
        )


def _workroot(home: Path) -> Path:
    root = home / "serving"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def dbt_test(cfg: ServingConfig | None = None) -> dict:
    """The marts' dbt data tests on the served copy (dbt target ``serving``, dbt-postgres).

    The models are built by dbt-duckdb only; this runs every data test of models/marts (not the
    unit tests, which build model SQL) against the Postgres tables, so the copy BI reads passes
    the same not_null / unique / relationships / row_condition tests as the warehouse.
    Raises ServingError with dbt's summary when a test fails.
    """
    import subprocess

    from psycopg2.extensions import parse_dsn

    from .transform import dbt_executable

    cfg = cfg or config()
    if cfg is None:
        raise ValueError("serving is off: set MINHU_SERVING_DSN (e.g. postgresql://user@host:5432/minhu)")
    s = get_settings()
    p = parse_dsn(cfg.dsn)
    env = {
        **os.environ,
        "MINHU_DBT_TARGET": "serving",
        "MINHU_WAREHOUSE_PATH": str(
            s.warehouse_path
        ),  # unused by the serving target, required by the profile
        "MINHU_SERVING_HOST": p.get("host", "127.0.0.1"),
        "MINHU_SERVING_PORT": p.get("port", "5432"),
        "MINHU_SERVING_USER": p.get("user", os.environ.get("USER", "postgres")),
        "MINHU_SERVING_PASSWORD": p.get("password", ""),
        "MINHU_SERVING_DBNAME": p.get("dbname", p.get("user", "postgres")),
        "DBT_TARGET_PATH": str(s.home / "dbt" / "serving-target"),
        "DBT_LOG_PATH": str(s.logs_dir / "dbt-serving"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }
    cmd = [
        dbt_executable(),
        "test",
        "--select",
        "path:models/marts",
        "--exclude-resource-type",
        "unit_test",
        "--project-dir",
        str(s.dbt_project_dir),
        "--profiles-dir",
        str(s.dbt_project_dir),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    summary = next((ln.split("  ", 1)[-1].strip() for ln in reversed(lines) if "TOTAL=" in ln), "")
    if proc.returncode != 0:
        failed = [
            m.group(2) for ln in lines if (m := re.search(r" of \d+ (FAIL|ERROR)\S* (?:\d+ )?(\S+)", ln))
        ]
        raise ServingError(
            f"dbt data tests on the served copy at {cfg.where} failed ({summary or 'no summary'}): "
            f"{', '.join(failed) or lines[-1] if lines else proc.stderr.strip()[-300:]}"
            f" (log: {s.logs_dir / 'dbt-serving'})"
        )
    return {"dbt_test": summary, "on": cfg.where}


# ------------------------------------------------------------------------------------ the step


def after_publish(published: dict | None = None) -> dict:
    """The post-publish step: serve the new publication; never raises, never unpublishes.

    Off (and logged so) when MINHU_SERVING_DSN is unset. A failure is logged and emailed to
    the data engineers; the warehouse stays published and the served set stays as it was.
    Returns {"status": "off" | "served" | "skipped" | "failed", ...} for the run's summary.
    """
    try:
        cfg = config()
    except ValueError as exc:
        return _failed(str(exc), None)
    if cfg is None:
        log.info("serving is off: MINHU_SERVING_DSN is unset, no copy of the marts in Postgres")
        return {"status": "off", "reason": "MINHU_SERVING_DSN is unset"}
    version = (published or {}).get("version")
    try:
        return serve(version=str(version) if version is not None else None, cfg=cfg)
    except Exception as exc:  # noqa: BLE001 - serving must not fail the published run
        return _failed(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, cfg)


def _failed(reason: str, cfg: ServingConfig | None) -> dict:
    where = cfg.where if cfg else "Postgres"
    log.error("serving failed (the warehouse stays published; BI keeps the previous set): %s", reason)
    to = mail.recipients("alerts", "data_engineers")
    html = (
        f"<h3>minhu：BI 服务库（{where}）未更新</h3><p>原因：{reason}</p>"
        "<p>数仓已发布，报表不受影响；BI 用户仍看到上一版数据。修复后运行 <code>minhu serve</code>。</p>"
    )
    try:
        mail.send(mail.build_message(f"【minhu】BI 服务库未更新：{where}", html, to))
    except OSError as exc:
        log.error("could not send the serving alert: %s", exc)
    return {"status": "failed", "to": where, "error": reason}
