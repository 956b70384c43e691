"""Settings: every path and endpoint minhu uses, from the environment with local defaults.

All state lives under $MINHU_HOME (default ./var): raw, quarantine, warehouse, airflow,
outbox, reports, logs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PORT = 8765
DEFAULT_SMTP_PORT = 8025
DEFAULT_TOKEN = "minhu-local-token"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    home: Path
    district: str
    source_port: int
    source_url: str
    source_token: str
    smtp_host: str
    smtp_port: int
    mail_from: str
    http_timeout: float
    max_retry_after: float
    lease_wait: float = 3600.0  # MINHU_LEASE_WAIT: how long a writer waits for another's lease
    lease_stale: float = 120.0  # MINHU_LEASE_STALE: a lease without heartbeat this long is dead

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
        """The build file of one run: build/<run_id>.duckdb."""
        return self.build_dir / f"{run_id}.duckdb"

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
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def dbt_project_dir(self) -> Path:
        return REPO_ROOT / "dbt_project"

    @property
    def config_dir(self) -> Path:
        return REPO_ROOT / "config"


def get_settings() -> Settings:
    home = Path(_env("MINHU_HOME", str(Path.cwd() / "var"))).resolve()
    port = int(_env("MINHU_SOURCE_PORT", str(DEFAULT_PORT)))
    return Settings(
        home=home,
        district=_env("MINHU_DISTRICT", "硚口区"),
        source_port=port,
        source_url=_env("MINHU_SOURCE_URL", f"http://127.0.0.1:{port}").rstrip("/"),
        source_token=_env("MINHU_SOURCE_TOKEN", DEFAULT_TOKEN),
        smtp_host=_env("MINHU_SMTP_HOST", "127.0.0.1"),
        smtp_port=int(_env("MINHU_SMTP_PORT", str(DEFAULT_SMTP_PORT))),
        mail_from=_env("MINHU_MAIL_FROM", "minhu@qiaokou-grid.local"),
        http_timeout=float(_env("MINHU_HTTP_TIMEOUT", "30")),
        max_retry_after=float(_env("MINHU_MAX_RETRY_AFTER", "30")),
        lease_wait=float(_env("MINHU_LEASE_WAIT", "3600")),
        lease_stale=float(_env("MINHU_LEASE_STALE", "120")),
    )
