"""docker-compose.yml is a valid production stack: CeleryExecutor, Postgres metadata, Redis broker."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

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
    assert "asyncpg==" in lock  # the api-server's async sessions on PostgreSQL
    assert "requirements.lock" in (ROOT / "Dockerfile").read_text()


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def test_env_example_names_every_variable_the_compose_file_reads_and_validates_it():
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    wanted = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", compose))
    example = env_example()
    assert wanted and wanted <= set(example), f"missing from .env.example: {sorted(wanted - set(example))}"
    # placeholders, not secrets
    for key in SECRETS:
        assert example[key].startswith("change-me"), key
    env = {k: v for k, v in os.environ.items() if k not in wanted}  # nothing but the file speaks
    out = subprocess.run(
        [
            "docker-compose",
            "-f",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(ROOT / ".env.example"),
            "config",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    worker = yaml.safe_load(out.stdout)["services"]["airflow-worker"]["environment"]
    assert worker["MINHU_SOURCE_TOKEN"] == example["MINHU_SOURCE_TOKEN"]
    assert example["POSTGRES_PASSWORD"] in worker["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    # the result backend names its driver: SQLAlchemy's bare postgresql:// is psycopg 3, not in the image
    assert worker["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://")
