"""Shared fixtures: real simulators and a real SMTP sink on loopback, a fresh $MINHU_HOME, one
published night and one migrated Airflow metadata database built once per session (tests copy them).

Every test carries a tier marker (pyproject.toml): collection fails on a test without one."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import socket
import subprocess
from contextlib import contextmanager
from datetime import date
from email.header import decode_header, make_header
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIERS = ("unit", "dbt_unit", "dbt", "e2e", "airflow", "fault", "celery")
PUBLISHED_DAY = date(2024, 3, 1)


# The longest modules first (measured, `--durations`), so that `make test`'s workers
# (pytest-xdist, --dist loadfile: a module stays on one worker with its module fixtures) do not
# end with one of them still running a long module alone. Only the order changes.
LONGEST_FIRST = (
    "test_faults_warehouse",
    "test_backfill",
    "test_celery_e2e",
    "test_report_dags",
    "test_reports",
    "test_faults_lease",
    "test_serving",
    "test_budget_warehouse",
    "test_finance_profiles",
    "test_dags",
    "test_gate",
    "test_delivery_faults",
)


def pytest_collection_modifyitems(config, items):
    untiered = [i.nodeid for i in items if not any(i.get_closest_marker(t) for t in TIERS)]
    if untiered:
        raise pytest.UsageError(f"tests without a tier marker ({', '.join(TIERS)}): {untiered[:10]}")
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda i: rank.get(i.path.stem, len(rank)))  # stable: a module keeps its order


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def sources_url():
    """The simulators (case platform + finance system) on a free loopback port, for the session."""
    from simulators.server import serve_in_thread

    server, url = serve_in_thread(0)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def smtp_port():
    """The SMTP sink; it stores each message under the $MINHU_HOME of the test that sent it."""
    from simulators import smtp_sink

    port = free_port()
    controller = smtp_sink.start(port=port)
    yield port
    controller.stop()


def set_home_env(mp: pytest.MonkeyPatch, home: Path, sources_url: str, smtp_port: int) -> Path:
    """MINHU_HOME=home, wired to the session's simulators and SMTP sink, on a MonkeyPatch."""
    mp.setenv("MINHU_HOME", str(home))
    mp.setenv("MINHU_SOURCE_URL", sources_url)
    mp.setenv("MINHU_SMTP_PORT", str(smtp_port))
    return home


@contextmanager
def home_env(home: Path, sources_url: str, smtp_port: int):
    """set_home_env for a block (module- and session-scoped fixtures); yields the MonkeyPatch."""
    with pytest.MonkeyPatch.context() as mp:
        set_home_env(mp, home, sources_url, smtp_port)
        yield mp


@pytest.fixture
def home(tmp_path, monkeypatch, sources_url, smtp_port):
    """A fresh $MINHU_HOME wired to the session's simulators and SMTP sink."""
    return set_home_env(monkeypatch, tmp_path / "home", sources_url, smtp_port)


def airflow(home: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """`bin/airflow-env ARGS` with MINHU_HOME=home: Airflow under home/airflow, output captured."""
    return subprocess.run(
        [str(ROOT / "bin/airflow-env"), *args],
        cwd=ROOT,
        env={**os.environ, "MINHU_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_home(src: Path, dst: Path) -> Path:
    """A copy of a $MINHU_HOME for a test that writes (no lease lock files, no build folders)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.lock", "build"))
    return dst


@pytest.fixture(scope="session")
def published_day(tmp_path_factory, sources_url, smtp_port) -> Path:
    """A $MINHU_HOME with PUBLISHED_DAY (2024-03-01) published once for the session: the nightly
    pipeline without its report (extract, build, gate, publish). Read it as is; a test that
    writes works on `copy_home(published_day, ...)`."""
    from pipeline import nightly

    home = tmp_path_factory.mktemp("published-day") / "home"
    with home_env(home, sources_url, smtp_port):
        nightly.run(PUBLISHED_DAY, send_report=False)
    assert not (home / "outbox").exists() or not list((home / "outbox").iterdir())
    return home


@pytest.fixture(scope="session")
def airflow_template(tmp_path_factory) -> Path:
    """One Airflow metadata database migrated once for the session by bin/airflow-env itself
    (`airflow db migrate` and the minhu_warehouse pool): the slow part of every Airflow test."""
    home = tmp_path_factory.mktemp("airflow-template") / "home"
    out = subprocess.run(
        [str(ROOT / "bin/airflow-env"), "true"],
        cwd=ROOT,
        env={**os.environ, "MINHU_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert (home / "airflow" / ".migrated").exists()
    return home / "airflow"


@pytest.fixture
def airflow_db(airflow_template):
    """airflow_db(home): put a copy of the session's migrated metadata database under home/airflow,
    so bin/airflow-env finds it migrated (its .migrated marker) and skips the migration."""

    def install(home: Path) -> Path:
        dst = home / "airflow"
        dst.mkdir(parents=True, exist_ok=True)
        for p in airflow_template.iterdir():
            if p.name.startswith("airflow.db") or p.name == ".migrated":
                shutil.copy2(p, dst / p.name)
        return home

    return install


def read_eml(path: Path) -> email.message.Message:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def subject_of(msg) -> str:
    return str(make_header(decode_header(msg["Subject"])))
