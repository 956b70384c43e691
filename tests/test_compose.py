"""docker-compose.yml is a valid production stack: CeleryExecutor, Postgres metadata, Redis broker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SECRETS = {
    "POSTGRES_PASSWORD": "p",
    "AIRFLOW_JWT_SECRET": "j",
    "AIRFLOW_SECRET_KEY": "k",
    "MINHU_SOURCE_TOKEN": "t",
}


def test_compose_file_validates_offline_and_runs_celery_on_postgres_and_redis():
    out = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        env={**os.environ, **SECRETS},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    config = yaml.safe_load(out.stdout)
    services = config["services"]
    assert {"postgres", "redis", "airflow-scheduler", "airflow-worker", "airflow-apiserver"} <= set(services)
    env = services["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379")
    assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Shanghai"


def test_compose_refuses_to_start_without_secrets():
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    out = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and "POSTGRES_PASSWORD" in out.stderr


def test_image_installs_the_same_lock_with_the_production_extras():
    lock = (ROOT / "requirements.lock").read_text()
    assert "apache-airflow-providers-celery==" in lock and "psycopg2-binary==" in lock and "redis==" in lock
    assert "requirements.lock" in (ROOT / "Dockerfile").read_text()
