"""Settings: every path and endpoint minhu uses, from the environment with local defaults.

All state lives under $MINHU_HOME (default ./var): raw, quarantine, warehouse, airflow,
outbox, reports, logs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from minhu import districts

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 8765
DEFAULT_SMTP_PORT = 8025
DEFAULT_TOKEN = "minhu-local-token"
DEFAULT_DISTRICT = "硚口区"  # MINHU_DISTRICT: any of Wuhan's districts (minhu.districts)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    home: Path
    district: str
    centre_name: str  # MINHU_CENTRE_NAME, e.g. 江汉区社会管理网格化服务中心 (report titles, 绩效自评)
    centre_short: str  # MINHU_CENTRE_SHORT, e.g. 江汉区网格中心 (the 【…】 of email subjects)
    source_port: int
    source_url: str
    source_token: str
    smtp_host: str
    smtp_port: int
    mail_from: str
    http_timeout: float
    max_retry_after: float
    # SMTP delivery: attempts per send, seconds per socket operation, backoff (doubling, capped)
    smtp_attempts: int = 5
    smtp_timeout: float = 30.0
    smtp_backoff: float = 2.0
    smtp_backoff_max: float = 60.0
    lease_wait: float = 3600.0  # MINHU_LEASE_WAIT: how long a writer waits for another's lease
    lease_stale: float = 120.0  # MINHU_LEASE_STALE: a lease without heartbeat this long is dead
    # MINHU_DUCKDB_MEMORY: the buffer pool of every warehouse connection (load, gate, reports,
    # and dbt through profiles.yml); DuckDB spills to <file>.tmp beyond it, so memory stays
    # bounded whatever the volume (its own default is 80 % of the machine's RAM)
    duckdb_memory: str = "512MB"

    @property
    def raw_dir(self) -> Path:
        return self.home / "raw"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def warehouse_path(self) -> Path:
        """The published warehouse: what reports and users read."""
        return self.home / "warehouse.duckdb"

    @property
    def build_dir(self) -> Path:
        """Where a run builds and audits its candidate warehouse before publishing it."""
        return self.home / "build"

    def build_warehouse_path(self, run_id: str) -> Path:
        """The build file of one run: build/<run_id>/warehouse.duckdb.

        The file keeps the published file's name because DuckDB names a file's catalog after it
        and dbt's views refer to their tables through that catalog: a view built in a file of
        another name would point at a catalog that does not exist once the file is published."""
        return self.build_dir / run_id / "warehouse.duckdb"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def deliveries_path(self) -> Path:
        """The delivery ledger (SQLite): one row per report delivery, claimed → sent | failed."""
        return self.home / "deliveries.sqlite"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def dbt_project_dir(self) -> Path:
        return REPO_ROOT / "dbt_project"

    @property
    def config_dir(self) -> Path:
        return REPO_ROOT / "config"


_MEMORY = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def _memory(name: str, default: str) -> str:
    """A DuckDB memory size (512MB, 2GB, 1.5GiB); anything else is one clear line, not DuckDB's traceback."""
    value = _env(name, default).strip()
    if not _MEMORY.fullmatch(value):
        raise ValueError(
            f"{name}={value!r} is not a memory size: give a number and a unit, e.g. 512MB or 2GB"
        )
    return value


def get_settings() -> Settings:
    home = Path(_env("MINHU_HOME", str(Path.cwd() / "var"))).resolve()
    port = int(_env("MINHU_SOURCE_PORT", str(DEFAULT_PORT)))
    district = districts.lookup(_env("MINHU_DISTRICT", DEFAULT_DISTRICT))  # UnknownDistrict: one line
    return Settings(
        home=home,
        district=district.name,
        centre_name=_env("MINHU_CENTRE_NAME", f"{district.name}社会管理网格化服务中心"),
        centre_short=_env("MINHU_CENTRE_SHORT", f"{district.name}网格中心"),
        source_port=port,
        source_url=_env("MINHU_SOURCE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        source_token=_env("MINHU_SOURCE_TOKEN", DEFAULT_TOKEN),
        smtp_host=_env("MINHU_SMTP_HOST", "127.0.0.1"),
        smtp_port=int(_env("MINHU_SMTP_PORT", str(DEFAULT_SMTP_PORT))),
        mail_from=_env("MINHU_MAIL_FROM", f"minhu@{district.key}-grid.local"),
        http_timeout=float(_env("MINHU_HTTP_TIMEOUT", "30")),
        max_retry_after=float(_env("MINHU_MAX_RETRY_AFTER", "30")),
        smtp_attempts=max(1, int(_env("MINHU_SMTP_ATTEMPTS", "5"))),
        smtp_timeout=float(_env("MINHU_SMTP_TIMEOUT", "30")),
        smtp_backoff=float(_env("MINHU_SMTP_BACKOFF", "2")),
        smtp_backoff_max=float(_env("MINHU_SMTP_BACKOFF_MAX", "60")),
        lease_wait=float(_env("MINHU_LEASE_WAIT", "3600")),
        lease_stale=float(_env("MINHU_LEASE_STALE", "120")),
        duckdb_memory=_memory("MINHU_DUCKDB_MEMORY", "512MB"),
    )
