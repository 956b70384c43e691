"""Production shape end to end: Airflow with the CeleryExecutor, PostgreSQL metadata and a Redis
broker on this machine's real servers, started by the same script as `make airflow`.

A fresh database per run (dropped after), a dedicated Redis db number and a queue of this run's
own (so a concurrent run on the same Redis takes none of our tasks); api-server, scheduler,
dag-processor and one celery worker. `nightly` is triggered for a date through the v2 REST API
with a JWT from the simple auth manager's /auth/token; the test waits (bounded) for success,
then checks the published warehouse and the sent 日报 against the landed records. Every process
is stopped by process group at the end, on failure too. A missing server fails the test: CI
(.ci/run) starts PostgreSQL and Redis when they are down.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from datetime import date
from pathlib import Path

import pytest
from conftest import free_port, read_eml, subject_of
from test_nightly import expected_day_figures

from pipeline.indicators import fetch

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2024, 3, 1)
REDIS_DB = int(os.environ.get("MINHU_CELERY_REDIS_DB", "11"))
RUN_TIMEOUT_S = 900

pytestmark = pytest.mark.celery


def pg_connect(dbname: str = "postgres"):
    import psycopg2

    errors = []
    for user in ("postgres", "root"):
        try:
            con = psycopg2.connect(host="127.0.0.1", port=5432, user=user, dbname=dbname, connect_timeout=5)
            con.autocommit = True
            return con, user
        except psycopg2.OperationalError as exc:
            errors.append(f"{user}: {str(exc).strip()}")
    pytest.fail(f"PostgreSQL on 127.0.0.1:5432 (trust) is not reachable ({'; '.join(errors)}): start it")


@pytest.fixture
def metadata_db():
    name = f"minhu_celery_{uuid.uuid4().hex[:10]}"
    con, user = pg_connect()
    con.cursor().execute(f'create database "{name}"')
    try:
        yield f"postgresql+psycopg2://{user}@127.0.0.1:5432/{name}"
    finally:
        con.cursor().execute(f'drop database if exists "{name}" with (force)')
        con.close()


@pytest.fixture
def broker():
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis on 127.0.0.1:6379 is not reachable ({exc}): start it")
    queue = f"minhu-e2e-{uuid.uuid4().hex[:8]}"
    yield f"redis://127.0.0.1:6379/{REDIS_DB}", queue
    for key in client.scan_iter(f"*{queue}*"):  # our queue's keys only: the db may be shared
        client.delete(key)
    client.close()


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body: dict | None = None) -> dict:
        req = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from exc


def token(base: str, home: Path) -> str:
    password = json.loads((home / "airflow" / "simple_auth_manager_passwords.json").read_text())["admin"]
    req = urllib.request.Request(
        base + "/auth/token",
        method="POST",
        data=json.dumps({"username": "admin", "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["access_token"]


def wait_for(what: str, check, timeout: float, logs: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(2)
    tails = "\n".join(
        f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:] for p in logs.glob("airflow-*.log")
    )
    pytest.fail(f"{what}: not within {timeout:.0f} s\n{tails}")


def test_nightly_runs_on_celery_with_postgres_metadata_and_redis_broker(home, metadata_db, broker):
    broker_url, queue = broker
    port = free_port()
    env = {
        **os.environ,
        "MINHU_HOME": str(home),
        "MINHU_AIRFLOW_PORT": str(port),
        "MINHU_AIRFLOW_COMPONENTS": "api-server scheduler dag-processor celery-worker",
        "MINHU_CELERY_QUEUES": queue,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_db,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_db,
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    }
    t0 = time.monotonic()
    try:
        up = subprocess.run(
            [str(ROOT / "scripts/airflow.sh"), "up"], env=env, capture_output=True, text=True, timeout=600
        )
        assert up.returncode == 0, (up.stdout + up.stderr)[-5000:]
        assert f"http://127.0.0.1:{port}/" in up.stdout and "password" in up.stdout
        started = time.monotonic() - t0
        base = f"http://127.0.0.1:{port}"
        api = Api(base, token(base, home))
        logs = home / "logs"

        def parsed():
            try:
                return api("GET", "/api/v2/dags/nightly")
            except AssertionError:
                return None

        dag = wait_for("the dag-processor parses nightly", parsed, 300, logs)
        # A run at the logical date the scheduler would create next: unpausing then creates no
        # scheduled run for "yesterday" beside ours (the scheduler skips a taken logical date).
        logical = dag["next_dagrun_logical_date"]
        run_id = f"e2e_{uuid.uuid4().hex[:8]}"
        api(
            "POST",
            "/api/v2/dags/nightly/dagRuns",
            {"dag_run_id": run_id, "logical_date": logical, "conf": {"business_date": DAY.isoformat()}},
        )
        api("PATCH", "/api/v2/dags/nightly", {"is_paused": False})

        def finished():
            state = api("GET", f"/api/v2/dags/nightly/dagRuns/{run_id}")["state"]
            return state if state in ("success", "failed") else None

        state = wait_for("the nightly run finishes", finished, RUN_TIMEOUT_S, logs)
        tis = api("GET", f"/api/v2/dags/nightly/dagRuns/{run_id}/taskInstances")["task_instances"]
        assert state == "success", [(t["task_id"], t["state"]) for t in tis]
        # every task ran on our celery worker, through our queue
        assert {t["queue"] for t in tis} == {queue}
        assert all(t["hostname"] and t["executor"] in (None, "CeleryExecutor") for t in tis), tis
        runs = api("GET", "/api/v2/dags/nightly/dagRuns")["dag_runs"]
        assert [r["dag_run_id"] for r in runs] == [run_id]
        seconds = time.monotonic() - t0
        print(f"\ncelery e2e: airflow up in {started:.1f} s, nightly succeeded after {seconds:.1f} s in all")
    finally:
        down = subprocess.run(
            [str(ROOT / "scripts/airflow.sh"), "down"], env=env, capture_output=True, text=True, timeout=120
        )
    assert down.returncode == 0, down.stderr
    assert not list((home / "run" / "airflow").glob("*.pid"))

    # the published warehouse holds the day, as the landed records say
    manifest_dir = next((home / "raw" / "cases" / DAY.isoformat()).iterdir())
    landed = [json.loads(line) for line in (manifest_dir / "records.jsonl").read_text().splitlines()]
    want = expected_day_figures(landed)
    figures = {r["indicator"]: r for r in fetch("day", DAY.isoformat())}
    assert figures["case_count"]["value"] == want["case_count"] > 0
    # and the 日报 went out once, with the same figure
    emls = list((home / "outbox").glob("*.eml"))
    assert len(emls) == 1
    msg = read_eml(emls[0])
    assert subject_of(msg) == "【硚口区网格中心】群众诉求日报 2024年3月1日"
    assert f"<b>{want['case_count']:,}</b>" in msg.get_body(("html",)).get_content()
