"""The nightly pipeline, step by step: extract → build (load + dbt) → gate → publish → report.

Write-audit-publish: a run copies the published warehouse to $MINHU_HOME/build/, loads and
builds there, audits the build with the quality gate, and only a passing build replaces the
published file (an atomic rename). A failing run leaves the published warehouse untouched,
sends no report, alerts the data engineers and raises.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import asdict
from datetime import date
from pathlib import Path

from expectations.gate import GateResult, validate
from expectations.suites import all_suites
from extract import land
from extract.load import load_batch
from minhu import warehouse
from minhu.settings import get_settings
from reports import daily, mail

from . import freshness, quality, serve
from .transform import dbt

log = logging.getLogger(__name__)


class GateFailed(RuntimeError):
    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__("quality gate failed, nothing published:\n" + result.summary())


def extract(dates: list[date]) -> list[dict]:
    """Land every source window of the dates; returns the manifests."""
    manifests = []
    for d in dates:
        manifests += [asdict(m) for m in land.extract_day(d)]
    return manifests


def prepare_build() -> Path:
    """Start a build from the published warehouse (or from nothing on the first run)."""
    s = get_settings()
    s.build_dir.mkdir(parents=True, exist_ok=True)
    build = s.build_warehouse_path
    for p in (build, build.with_suffix(".duckdb.wal")):
        p.unlink(missing_ok=True)
    if s.warehouse_path.exists():
        shutil.copyfile(s.warehouse_path, build)
    return build


def load_dates(build: Path, dates: list[date], sources: tuple[str, ...] = land.SOURCES_NIGHTLY) -> int:
    con = warehouse.connect(build)
    try:
        rows = 0
        for d in dates:
            for source in sources:
                m = land.latest_landing(source, d)
                if m is None:
                    raise FileNotFoundError(f"no landing of {source} for {d}: run the extract step first")
                rows += load_batch(
                    con,
                    source,
                    f"api/{source}/{d.isoformat()}",
                    m.records_path,
                    kind="api",
                    checksum=m.checksum,
                    landed_count=m.count,
                    source_count=m.source_count,
                    business_date=d.isoformat(),
                )
        return rows
    finally:
        con.close()


def build(dates: list[date]) -> dict:
    """Load the dates' landings into a fresh build of the warehouse and run dbt on it."""
    with warehouse.lock():
        path = prepare_build()
        rows = load_dates(path, dates)
        dbt(["build"], path)
        freshness.check(path, dates)  # alerts on a stale source; never blocks (pipeline/freshness.py)
    return {"build": str(path), "rows_loaded": rows}


def build_existing() -> dict:
    """Rebuild the dbt models on a fresh build of the published warehouse (after imports)."""
    with warehouse.lock():
        path = prepare_build()
        dbt(["build"], path)
    return {"build": str(path)}


def gate(path: Path | None = None, alert: bool = True) -> GateResult:
    """Audit a warehouse file (the build by default) with every suite; raise GateFailed on an error.

    Writes $MINHU_HOME/reports/quality/ (last_gate.json, index.html, the GX Data Docs under
    gx/); a passing build also records the run in its audit.gate_runs. A failure emails the
    data engineers (unless alert=False) naming the failed expectations.
    """
    s = get_settings()
    path = path or s.build_warehouse_path
    if not path.exists():
        raise FileNotFoundError(f"nothing to audit: no warehouse at {path}")
    result = validate(path, all_suites(), docs_dir=quality.gx_docs_dir())
    target = "published" if path.resolve() == s.warehouse_path.resolve() else "build"
    quality.record(result, path, target)
    log.info("quality gate on %s in %.1f s: %s", path, result.seconds, result.summary())
    if not result.passed:
        if alert:
            send_alert(result, path)
        raise GateFailed(result)
    return result


def send_alert(result: GateResult, path: Path | None = None) -> None:
    """Email the data engineers the failed expectations; a failed send is logged, not raised."""
    to = mail.recipients("alerts", "data_engineers")
    subject, html = quality.alert_message(result, path or get_settings().build_warehouse_path)
    try:
        mail.send(mail.build_message(subject, html, to))
    except OSError as exc:  # the gate's failure is what matters; say the alert failed too
        log.error("could not send the quality alert: %s", exc)


def data_docs(path: Path | None = None) -> dict:
    """dbt docs of the audited build beside the GX Data Docs (reports/quality/dbt/).

    Docs are a view, not data: a failure to render them is logged and publication goes on.
    """
    path = path or get_settings().build_warehouse_path
    try:
        return quality.dbt_docs(path)
    except Exception as exc:  # noqa: BLE001
        log.error("could not generate the dbt docs: %s", exc)
        return {"dbt_docs": None, "error": str(exc).splitlines()[0]}


def publish() -> dict:
    s = get_settings()
    with warehouse.lock():
        build_path = s.build_warehouse_path
        if not build_path.exists():
            raise FileNotFoundError(f"nothing to publish: no build at {build_path}")
        os.replace(build_path, s.warehouse_path)
    return {"published": str(s.warehouse_path), "serving": serve.after_publish()}  # the BI copy


def report(d: date, send: bool = True, resend: bool = False) -> dict:
    return daily.run(d, send=send, resend=resend)


def run(d: date, send_report: bool = True) -> dict:
    """`minhu run --date D`: the whole nightly pipeline for one business date."""
    manifests = extract([d])
    built = build([d])
    result = gate()
    data_docs()
    published = publish()
    rep = report(d, send=send_report)
    return {
        "date": d.isoformat(),
        "landed": {m["source"]: m["count"] for m in manifests},
        **built,
        "gate": result.summary().splitlines()[0],
        **published,
        "report": rep,
    }


def backfill(dates: list[date]) -> dict:
    """The pipeline over a range: extract each date, then one build, gate and publish.

    Backfills send no reports: leadership gets reports for current periods only.
    """
    manifests = extract(dates)
    built = build(dates)
    result = gate()
    data_docs()
    published = publish()
    return {
        "dates": [dates[0].isoformat(), dates[-1].isoformat()],
        "windows": len(manifests),
        **built,
        "gate": result.summary().splitlines()[0],
        **published,
    }
