"""Serving (pipeline/serve.py): the published marts copied into a real PostgreSQL for BI.

Every test runs against this machine's PostgreSQL (127.0.0.1:5432, trust) in a database
created for the test run and dropped after it. The expected values come from DuckDB, read
independently of the serving code (a plain `select *` on the published file).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg2
import pytest
from conftest import home_env, read_eml, subject_of

from minhu.settings import get_settings
from pipeline import cli, nightly, serve

pytestmark = pytest.mark.e2e

PG = "host=127.0.0.1 port=5432 user=postgres"
DATES = [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)]


def _admin(sql: str) -> None:
    conn = psycopg2.connect(PG + " dbname=postgres")
    conn.autocommit = True  # CREATE / DROP DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def pg_database():
    """A fresh database on the real PostgreSQL for this module's tests; dropped afterwards."""
    name = f"minhu_serving_test_{uuid.uuid4().hex[:12]}"
    _admin(f'create database "{name}"')
    yield f"{PG} dbname={name}"
    _admin(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def dsn(pg_database, monkeypatch):
    """The module's database, emptied of everything minhu served before this test."""
    with psycopg2.connect(pg_database) as conn, conn.cursor() as cur:
        cur.execute(
            "select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname"
            " not in ('information_schema', 'public')"
        )
        for (schema,) in cur.fetchall():
            cur.execute(f'drop schema "{schema}" cascade')
        cur.execute("drop schema public cascade; create schema public")
    conn.close()
    monkeypatch.setenv("MINHU_SERVING_DSN", pg_database)
    for name in ("MINHU_SERVING_SCHEMAS", "MINHU_SERVING_READERS", "MINHU_SERVING_LOCK_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    return pg_database


def pg(dsn: str, sql: str, params=None) -> list[tuple]:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
        conn.commit()
        return rows
    finally:
        conn.close()


def duck(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("set timezone = 'Asia/Shanghai'")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def norm(v):
    """One comparable form of a value read by duckdb or psycopg2."""
    if isinstance(v, datetime):
        return ("ts", v.astimezone(UTC).isoformat() if v.tzinfo else v.isoformat())
    if isinstance(v, int) and not isinstance(v, bool):
        v = Decimal(v)  # a HUGEINT is served as numeric
    if isinstance(v, Decimal):
        return ("num", str(v.normalize()) if v.is_finite() else str(v))
    if isinstance(v, float):
        return ("float", "nan" if math.isnan(v) else repr(v))
    if isinstance(v, memoryview | bytes):
        return ("bytes", bytes(v))
    if isinstance(v, list | dict):
        return ("json", json.dumps(v, sort_keys=True, default=str))
    return v


def rows_of(rows) -> Counter:
    return Counter(tuple(norm(v) for v in r) for r in rows)


# ------------------------------------------------------------- a small published warehouse, by hand

TRICKY = """
create table marts.tricky as select * from (values
    (1, '', null::varchar, 0.1::double, timestamptz '2024-03-01 08:00:00+08', 1234567.89::decimal(18, 2),
     [1, 2], {'a': 1, 'b': 'x'}, 'a"b,c' || chr(10) || 'd 中文', true, date '2024-02-29', 'blob\\x00'::blob,
     interval 90 minute, 12345678901234567890::hugeint, timestamp '2024-03-01 23:59:59.123456'),
    (2, '\\N', 'NULL', 1e-300, null, null, null, null, ' leading space', false, null, null, null, null, null),
    (3, '"', 'x', 'nan'::double, timestamptz '1999-12-31 23:30:00+00', -0.01, [], {'a': null, 'b': null},
     '', null, date '1970-01-01', ''::blob, interval 0 second, -1, null)
) v(id, empty, nothing, f, ts, money, list, rec, text, flag, day, bin, dur, huge, naive)
"""


def publish_fake(version: int, extra_sql: str = "") -> Path:
    """Write a published warehouse with marts.a (version rows), marts.b (10 × version rows),
    marts.tricky and an audit.gate_runs row: what serving reads."""
    path = get_settings().warehouse_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp))
    con.execute("set timezone = 'Asia/Shanghai'")
    con.execute("create schema marts; create schema audit; create schema raw")
    con.execute(f"create table marts.a as select range as id, 'v{version}' as tag from range({version})")
    con.execute(f"create table marts.b as select range as id from range({10 * version})")
    con.execute(TRICKY)
    con.execute("create table raw.secret as select 'not served' as x")
    con.execute(
        f"create table audit.gate_runs as select timestamptz '2024-03-0{version}' as checked_at, true as passed"
    )
    if extra_sql:
        con.execute(extra_sql)
    con.close()
    tmp.replace(path)
    return path


def served_state(dsn: str) -> tuple:
    return pg(
        dsn,
        "select (select count(*) from marts.a), (select min(tag) from marts.a), (select count(*) from marts.b),"
        " (select published_sha256 from minhu_serving.current)",
    )[0]


def sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_type_and_value_arrives_unchanged(home, dsn):
    path = publish_fake(1)
    out = serve.serve()
    assert out["status"] == "served" and out["tables"] == 3 and out["rows"] == 1 + 10 + 3
    cols = [r[0] for r in duck(path, "select column_name from duckdb_columns() where table_name = 'tricky'")]
    want = duck(path, "select * from marts.tricky order by id")
    got = pg(dsn, "select * from marts.tricky order by id")
    assert [tuple(norm(v) for v in r) for r in got] == [tuple(norm(v) for v in r) for r in want]
    # the awkward ones, spelled out: '' is not NULL, the text 'NULL' / '\N' stay text, NUL bytes in a blob
    by_id = {r[0]: dict(zip(cols, r, strict=True)) for r in got}
    assert by_id[1]["empty"] == "" and by_id[1]["nothing"] is None
    assert by_id[2]["empty"] == "\\N" and by_id[2]["nothing"] == "NULL"
    assert bytes(by_id[1]["bin"]) == b"blob\x00" and bytes(by_id[3]["bin"]) == b""
    assert by_id[1]["money"] == Decimal("1234567.89") and by_id[1]["huge"] == 12345678901234567890
    assert by_id[1]["list"] == [1, 2] and by_id[3]["rec"] == {"a": None, "b": None}
    assert math.isnan(by_id[3]["f"])
    types = dict(
        pg(dsn, "select column_name, data_type from information_schema.columns where table_name = 'tricky'")
    )
    assert types["money"] == "numeric" and types["ts"] == "timestamp with time zone"
    assert types["naive"] == "timestamp without time zone" and types["list"] == "jsonb"
    # only the served schemas: raw and audit stay in DuckDB
    schemas = {r[0] for r in pg(dsn, "select nspname from pg_namespace")}
    assert "marts" in schemas and "raw" not in schemas and "audit" not in schemas
    assert not any(s.endswith(serve.STAGING_SUFFIX) for s in schemas)
    # the version: the published file's sha256 and its newest passing gate run
    version = pg(
        dsn, "select published_sha256, gate_checked_at, tables, total_rows from minhu_serving.current"
    )
    assert version[0][:1] == (sha(path),) and version[0][2:] == (3, 14)
    assert version[0][1] == datetime.fromisoformat("2024-03-01T00:00:00+08:00")


def test_off_without_a_dsn_says_so(home, monkeypatch, caplog):
    monkeypatch.delenv("MINHU_SERVING_DSN", raising=False)
    publish_fake(1)
    with caplog.at_level("INFO", logger="pipeline.serve"):
        out = serve.after_publish({"published": "x"})
    assert out == {"status": "off", "reason": "MINHU_SERVING_DSN is unset"}
    assert "serving is off: MINHU_SERVING_DSN is unset" in caplog.text


def test_same_version_is_served_once_force_serves_again(home, dsn):
    publish_fake(2)
    assert serve.serve()["status"] == "served"
    assert serve.serve() == {
        "status": "skipped",
        "reason": "already served",
        "sha256": sha(home / "warehouse.duckdb"),
    }
    assert pg(dsn, "select count(*) from minhu_serving.publications") == [(1,)]
    assert serve.serve(force=True)["status"] == "served"
    assert pg(dsn, "select count(*) from minhu_serving.publications") == [(2,)]
    publish_fake(3)
    assert serve.serve()["status"] == "served"
    assert served_state(dsn) == (3, "v3", 30, sha(home / "warehouse.duckdb"))


def test_readers_see_the_old_set_or_the_new_never_half(home, dsn):
    publish_fake(1)
    serve.serve()
    old = served_state(dsn)
    seen: list[tuple] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        conn = psycopg2.connect(dsn)
        conn.autocommit = True  # READ COMMITTED statements, as BI tools send them
        try:
            with conn.cursor() as cur:
                while not stop.is_set():
                    cur.execute(
                        "select (select count(*) from marts.a), (select min(tag) from marts.a),"
                        " (select count(*) from marts.b), (select published_sha256 from minhu_serving.current)"
                    )
                    seen.append(cur.fetchone())
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            conn.close()

    t = threading.Thread(target=reader)
    t.start()
    while not seen and t.is_alive():
        time.sleep(0.01)
    for version in (5, 7, 9):
        publish_fake(version)
        serve.serve()
    while seen[-1][3] != sha(home / "warehouse.duckdb") and t.is_alive():
        time.sleep(0.01)
    stop.set()
    t.join()
    assert not errors, errors
    allowed = {old} | {(v, f"v{v}", 10 * v) for v in (5, 7, 9)}
    assert {s[:3] for s in seen} <= {a[:3] for a in allowed}, set(seen) - allowed
    assert seen[0] == old and seen[-1][:3] == (9, "v9", 90)


def test_a_reader_transaction_keeps_the_old_set_until_it_ends(home, dsn):
    publish_fake(1)
    serve.serve()
    publish_fake(2)
    reader = psycopg2.connect(dsn)  # READ COMMITTED, one transaction over two statements
    cur = reader.cursor()
    cur.execute("select count(*) from marts.a")
    assert cur.fetchone() == (1,)
    done: dict = {}
    t = threading.Thread(target=lambda: done.update(serve.serve()))
    t.start()
    # the serve has loaded the new set and waits for the reader's lock on the old tables
    for _ in range(3000):
        waiting = pg(
            dsn,
            "select count(*) from pg_stat_activity where datname = current_database()"
            " and application_name = 'minhu serve' and wait_event_type = 'Lock'",
        )
        if waiting == [(1,)] or not t.is_alive():
            break
        time.sleep(0.01)
    assert waiting == [(1,)]
    cur.execute("select count(*) from marts.b")
    assert cur.fetchone() == (10,)  # still the old set: never half
    reader.commit()
    t.join()
    reader.close()
    assert done["status"] == "served"
    assert served_state(dsn)[:3] == (2, "v2", 20)


def test_a_failed_serve_changes_nothing_alerts_and_keeps_the_publication(home, dsn, monkeypatch):
    publish_fake(1)
    serve.serve()
    before = served_state(dsn)
    # Postgres text cannot hold a NUL character: a real COPY failure in the middle of the load
    path = publish_fake(4, "create table marts.zz_bad as select 'a' || chr(0) || 'b' as t")
    out = serve.after_publish({"published": str(path)})
    assert out["status"] == "failed" and "0x00" in out["error"]
    assert "password" not in json.dumps(out)
    assert served_state(dsn) == before
    assert not [r for r in pg(dsn, "select nspname from pg_namespace") if r[0].endswith(serve.STAGING_SUFFIX)]
    assert path.exists() and sha(path) != before[3]  # the warehouse stays published
    mails = [read_eml(p) for p in sorted((home / "outbox").glob("*.eml"))]
    alerts = [m for m in mails if "BI 服务库未更新" in subject_of(m)]
    assert len(alerts) == 1 and alerts[0]["To"] == "data-engineers@qiaokou-grid.local"


def test_a_long_bi_query_makes_the_swap_wait_then_fail_cleanly(home, dsn, monkeypatch):
    publish_fake(1)
    serve.serve()
    monkeypatch.setenv("MINHU_SERVING_LOCK_TIMEOUT", "0.2")
    publish_fake(2)
    reader = psycopg2.connect(dsn)
    cur = reader.cursor()
    cur.execute("select count(*) from marts.b")  # an open BI transaction holds the old table
    out = serve.after_publish()
    reader.rollback()
    reader.close()
    assert out["status"] == "failed" and "lock timeout" in out["error"]
    assert served_state(dsn)[:3] == (1, "v1", 10)
    assert serve.serve()["status"] == "served"  # the next attempt, once the query ended
    assert served_state(dsn)[:3] == (2, "v2", 20)


def test_a_view_outside_the_served_schema_fails_the_swap_loudly(home, dsn):
    publish_fake(1)
    serve.serve()
    pg(dsn, "create view public.my_cases as select * from marts.a")
    publish_fake(2)
    with pytest.raises(serve.ServingError, match="public.my_cases"):
        serve.serve()
    assert served_state(dsn)[:3] == (1, "v1", 10)
    assert pg(dsn, "select count(*) from public.my_cases") == [(1,)]


def test_two_servers_at_once_run_one_after_the_other(home, dsn):
    publish_fake(3)
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(serve.serve(force=True))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["status"] for r in results] == ["served", "served"]
    assert served_state(dsn)[:3] == (3, "v3", 30)
    assert pg(dsn, "select count(*) from minhu_serving.publications") == [(2,)]


def test_reader_roles_get_select_on_every_served_table(home, dsn, monkeypatch):
    role = f"minhu_bi_{uuid.uuid4().hex[:8]}"
    pg(dsn, f'create role "{role}" nologin')
    try:
        monkeypatch.setenv("MINHU_SERVING_READERS", role)
        publish_fake(2)
        serve.serve()
        conn = psycopg2.connect(dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(f'set role "{role}"')
                cur.execute("select count(*) from marts.b")
                assert cur.fetchone() == (20,)
                cur.execute("select count(*) from minhu_serving.current")
                assert cur.fetchone() == (1,)
        finally:
            conn.close()
    finally:
        pg(dsn, f'drop owned by "{role}"; drop role "{role}"')


def test_cli_serve(home, dsn, monkeypatch, capsys):
    publish_fake(1)
    assert cli.main(["serve"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "served"
    assert cli.main(["serve"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "skipped"
    monkeypatch.setenv("MINHU_SERVING_DSN", "host=127.0.0.1 port=1 user=postgres password=s3cret dbname=x")
    assert cli.main(["serve"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("minhu: cannot connect to the serving database 127.0.0.1:1/x")
    assert "s3cret" not in err[0]
    monkeypatch.delenv("MINHU_SERVING_DSN")
    assert cli.main(["serve"]) == 1
    assert capsys.readouterr().err.strip() == (
        "minhu: serving is off: set MINHU_SERVING_DSN (e.g. postgresql://user@host:5432/minhu)"
    )


# ------------------------------------------------------------- the real marts, built by dbt from the API


@pytest.fixture(scope="module")
def built(tmp_path_factory, sources_url, smtp_port, pg_database):
    """A backfill through the nightly steps, with serving on: publish() serves."""
    home = tmp_path_factory.mktemp("serving") / "home"
    with home_env(home, sources_url, smtp_port) as mp:
        mp.setenv("MINHU_SERVING_DSN", pg_database)
        mp.setenv("MINHU_SERVING_SCHEMAS", "marts,reference")
        mp.delenv("MINHU_SERVING_READERS", raising=False)
        with psycopg2.connect(pg_database) as conn, conn.cursor() as cur:
            cur.execute("drop schema if exists marts cascade; drop schema if exists minhu_serving cascade")
        conn.close()
        out = nightly.backfill(DATES)
        yield home, out, pg_database


def test_the_nightly_publish_serves_every_mart(built):
    home, out, dsn = built
    path = home / "warehouse.duckdb"
    assert out["serving"]["status"] == "served", out
    assert pg(dsn, "select published_sha256 from minhu_serving.current") == [(sha(path),)]
    for schema in ("marts", "reference"):
        want = {
            r[0]
            for r in duck(
                path,
                "select table_name from duckdb_tables()"
                f" where schema_name = '{schema}' and database_name = current_database()",
            )
        }
        got = {r[0] for r in pg(dsn, "select tablename from pg_tables where schemaname = %s", [schema])}
        assert got == want and len(got) >= (10 if schema == "marts" else 3)
        for table in sorted(want):
            n = duck(path, f"select count(*) from {schema}.{table}")[0][0]
            assert pg(dsn, f"select count(*) from {schema}.{table}") == [(n,)], f"{schema}.{table}"
            if schema == "marts" and table in ("fct_cases", "fct_indicators", "dim_calendar"):
                assert n > 0, table


def test_every_fct_indicators_value_is_the_same(built):
    home, _, dsn = built
    path = home / "warehouse.duckdb"
    cols = [
        r[0]
        for r in duck(path, "select column_name from duckdb_columns() where table_name = 'fct_indicators'")
    ]
    select = "select " + ", ".join(f'"{c}"' for c in cols) + " from marts.fct_indicators"
    want, got = rows_of(duck(path, select)), rows_of(pg(dsn, select))
    assert sum(want.values()) > 100 and want == got
    # and a figure a BI user would query: the day's case count and on-time rate per scope
    q = (
        "select scope, indicator, numerator, denominator, value from marts.fct_indicators"
        " where grain = 'day' and period = '2024-03-05' order by scope, indicator"
    )
    assert [tuple(norm(v) for v in r) for r in pg(dsn, q)] == [
        tuple(norm(v) for v in r) for r in duck(path, q)
    ]
    assert (
        pg(dsn, "select count(*) from marts.fct_indicators where grain = 'day' and value is not null")[0][0]
        > 0
    )


def test_every_row_of_every_mart_is_the_same(built):
    home, _, dsn = built
    path = home / "warehouse.duckdb"
    tables = duck(
        path,
        "select schema_name, table_name from duckdb_tables()"
        " where schema_name in ('marts', 'reference') and database_name = current_database()",
    )
    for schema, table in tables:
        cols = [
            r[0]
            for r in duck(
                path,
                "select column_name from duckdb_columns() where database_name = current_database()"
                f" and schema_name = '{schema}' and table_name = '{table}' order by column_index",
            )
        ]
        select = "select " + ", ".join(f'"{c}"' for c in cols) + f" from {schema}.{table}"
        assert rows_of(pg(dsn, select)) == rows_of(duck(path, select)), f"{schema}.{table}"


def test_the_served_copy_passes_the_marts_dbt_tests_on_postgres(built):
    """dbt target `serving` (dbt-postgres): the marts' data tests on the copy. One duplicated
    row of fct_cases put into the copy fails exactly its unique test; every other test passes."""
    _, _, dsn = built
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINHU_SERVING_DSN", dsn)
        pg(dsn, "insert into marts.fct_cases select * from marts.fct_cases limit 1")
        try:
            with pytest.raises(serve.ServingError) as failed:
                serve.dbt_test()
        finally:
            pg(dsn, "delete from marts.fct_cases where ctid = (select max(ctid) from marts.fct_cases)")
    message = str(failed.value)
    assert message.count("\n") == 0, message
    assert ": unique_fct_cases_case_id (log:" in message, message
    total = int(re.search(r"TOTAL=(\d+)", message).group(1))
    assert total >= 50 and f"PASS={total - 1} " in message, message
