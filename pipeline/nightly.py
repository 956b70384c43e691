"""The nightly pipeline, step by step: extract → build (load + dbt) → gate → publish → report.

Write-audit-publish, one transaction a run (`transaction`): a run takes the warehouse lease
(minhu/lease.py: one writer at a time, recovered after kill -9), copies the published warehouse
to its own build file ``$MINHU_HOME/build/<run_id>.duckdb`` and records there the version it
will publish as (audit.publish_version: the published version + 1), loads and builds there,
audits the build with the quality gate, and `publish` replaces the published file by an atomic
rename -- only when the build passed the gate and the published file is still at the version
the build started from (compare-and-swap), all under the lease. The lease is held from the copy
to the rename, so a second run (nightly, backfill, import) waits for the first, then builds on
what it published. A failing run leaves the published warehouse untouched, sends no report,
alerts the data engineers and raises; its build file is removed on every way out (a kill -9
leaves it to the next run, which removes build files of dead runs when it takes the lease).

`build_gate_publish` is that transaction for landed dates: `minhu run`, `minhu backfill` and the
Airflow DAGs' one coarse ``build_gate_publish`` task all call it. Extraction runs before it
(landings are immutable and need no lease) and the 日报 after it (reports only read).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from expectations.gate import GateResult, validate
from expectations.suites import all_suites
from extract import land
from extract.load import load_day_landing
from minhu import fault, warehouse
from minhu import lease as leases
from minhu.calendar import TZ
from minhu.settings import get_settings
from reports import daily, mail

from . import freshness, quality, serve
from .transform import dbt_build

log = logging.getLogger(__name__)


class GateFailed(RuntimeError):
    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__("quality gate failed, nothing published:\n" + result.summary())


class PublishRefused(RuntimeError):
    """The build may not replace the published warehouse (ungated, or built on a stale version)."""


@dataclass
class Build:
    """One run's build: its file, the version it publishes as and the lease it holds."""

    run_id: str
    kind: str
    path: Path
    version: int
    base_version: int
    lease: leases.Lease


BuildStep = Callable[[Build], dict]


def extract(dates: list[date]) -> list[dict]:
    """Land every source window of the dates; returns the manifests."""
    manifests = []
    for d in dates:
        manifests += [asdict(m) for m in land.extract_day(d)]
    return manifests


def new_run_id(kind: str) -> str:
    """A run id that names the run's build file: <kind>-<UTC time>-<pid>-<random>."""
    return f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}-{secrets.token_hex(2)}"


def _build_files(path: Path) -> list[Path]:
    """The files of one build: the DuckDB file, its WAL and its temporary directory."""
    return [path, path.with_name(path.name + ".wal"), path.with_suffix(".tmp")]


def remove_build(path: Path) -> None:
    """Remove a run's build: its folder build/<run_id>/ with everything in it."""
    shutil.rmtree(path.parent, ignore_errors=True)


def sweep_builds(keep: str | None = None) -> int:
    """Remove what dead runs left in build/ (called under the lease: no other run is building)."""
    d = get_settings().build_dir
    if not d.exists():
        return 0
    n = 0
    for p in d.iterdir():
        if keep and p.name == keep:
            continue
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        n += 1
    if n:
        log.warning("removed %d leftover build file(s) of earlier runs from %s", n, d)
    return n


def prepare_build(run_id: str, kind: str, lease: leases.Lease) -> Build:
    """Start a build from the published warehouse (or from nothing on the first run)."""
    s = get_settings()
    s.build_dir.mkdir(parents=True, exist_ok=True)
    path = s.build_warehouse_path(run_id)
    remove_build(path)
    path.parent.mkdir()
    if s.warehouse_path.exists():
        shutil.copyfile(s.warehouse_path, path)
    con = warehouse.connect(path)
    try:
        version = warehouse.start_version(con, run_id, kind)
    finally:
        con.close()
    return Build(run_id, kind, path, version, version - 1, lease)


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """In a shell, SIGTERM unwinds like Ctrl-C (cleanup runs, dbt's group is killed) then exits."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield  # Airflow and other hosts have their own handler
        return

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def transaction(kind: str, run_id: str | None = None) -> Iterator[Build]:
    """One run over the warehouse: take the lease, make a fresh build, yield it; the caller loads,
    builds, gates and `publish`es it. On every way out the build is removed and the lease released."""
    run_id = run_id or new_run_id(kind)
    with _sigterm_as_exit():
        lease = leases.acquire(run_id, kind)
        try:
            fault.point("lease_acquired")
            sweep_builds(keep=run_id)
            b = prepare_build(run_id, kind, lease)
            try:
                yield b
            finally:
                remove_build(b.path)
            fault.point("before_release")
        finally:
            lease.release()


def load_dates(build: Path, dates: list[date], sources: tuple[str, ...] = land.SOURCES_NIGHTLY) -> int:
    con = warehouse.connect(build)
    try:
        rows = 0
        for d in dates:
            for source in sources:
                m = land.latest_landing(source, d)
                if m is None:
                    raise FileNotFoundError(f"no landing of {source} for {d}: run the extract step first")
                rows += load_day_landing(con, source, d, m)
                fault.point("load")
        return rows
    finally:
        con.close()


def build(b: Build, dates: list[date]) -> dict:
    """Load the dates' landings into the run's build and run dbt on it."""
    rows = load_dates(b.path, dates)
    dbt_build(b.path)
    freshness.check(b.path, dates)  # alerts on a stale source; never blocks (pipeline/freshness.py)
    fault.point("after_build")
    return {"build": str(b.path), "run_id": b.run_id, "rows_loaded": rows}


def rebuild(b: Build) -> dict:
    """Rebuild the dbt models on the run's build (a copy of the published warehouse)."""
    dbt_build(b.path)
    return {"build": str(b.path), "run_id": b.run_id}


def gate(path: Path, alert: bool = True) -> GateResult:
    """Audit a warehouse file (a run's build, or the published one) with every suite; raise
    GateFailed on an error.

    Writes $MINHU_HOME/reports/quality/ (last_gate.json, index.html, the GX Data Docs under
    gx/); a passing build also records the run in its audit.gate_runs, and its unpublished
    audit.publish_version row points at that record. A failure emails the data engineers
    (unless alert=False) naming the failed expectations.
    """
    s = get_settings()
    if not path.exists():
        raise FileNotFoundError(f"nothing to audit: no warehouse at {path}")
    result = validate(path, all_suites(), docs_dir=quality.gx_docs_dir())
    fault.point("gate")
    target = "published" if path.resolve() == s.warehouse_path.resolve() else "build"
    quality.record(result, path, target)
    log.info("quality gate on %s in %.1f s: %s", path, result.seconds, result.summary())
    if not result.passed:
        if alert:
            send_alert(result, path)
        raise GateFailed(result)
    if target == "build":
        warehouse.mark_gated(path)
        fault.point("after_gate")
    return result


def check_published() -> GateResult:
    """`minhu check`: the gate on the published warehouse, under the warehouse lease.

    The gate rewrites $MINHU_HOME/reports/quality/ (last_gate.json, index.html, the GX Data Docs),
    as a writer's gate does under its lease: holding it too, a check never interleaves its files
    with a run's (it waits like any writer, MINHU_LEASE_WAIT, then LeaseTimeout, exit 5). It
    sends no alert; GateFailed on an error.
    """
    with leases.hold(new_run_id("check"), "check"):
        return gate(get_settings().warehouse_path, alert=False)


def send_alert(result: GateResult, path: Path) -> None:
    """Email the data engineers the failed expectations; a failed send is logged, not raised."""
    to = mail.recipients("alerts", "data_engineers")
    subject, html = quality.alert_message(result, path)
    try:
        mail.send(mail.build_message(subject, html, to))
    except OSError as exc:  # the gate's failure is what matters; say the alert failed too
        log.error("could not send the quality alert: %s", exc)


def data_docs(path: Path) -> dict:
    """dbt docs of the audited build beside the GX Data Docs (reports/quality/dbt/).

    Docs are a view, not data: a failure to render them is logged and publication goes on.
    """
    try:
        return quality.dbt_docs(path)
    except Exception as exc:  # noqa: BLE001
        log.error("could not generate the dbt docs: %s", exc)
        return {"dbt_docs": None, "error": str(exc).splitlines()[0]}


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(b: Build) -> dict:
    """Replace the published warehouse with the run's gated build: a compare-and-swap.

    Under the lease (checked, and held still for the swap): the build's version must have passed
    the gate and the published file must still be at the version the build was copied from;
    otherwise PublishRefused and nothing changes. The swap is one atomic rename: a reader has the
    old file or the new one open, never a mix. Hooks that act on a publish (serving, assets) go
    after this call, still under the lease, in `build_gate_publish` and pipeline/imports.py.
    """
    s = get_settings()
    with b.lease.guarded():
        con = warehouse.connect(b.path)
        try:
            if not warehouse.is_gated_version(con, b.version):
                raise PublishRefused(
                    f"build {b.path.name} of run {b.run_id} has not passed the quality gate; nothing published"
                )
            current = warehouse.published_version()
            if current != b.base_version:
                raise PublishRefused(
                    f"the published warehouse is at version {current} but run {b.run_id} built on version"
                    f" {b.base_version}; nothing published, run it again"
                )
            con.execute(
                "update audit.publish_version set published_at = ? where version = ?",
                [datetime.now(TZ), b.version],
            )
        finally:
            con.close()
        if _build_files(b.path)[1].exists():
            raise RuntimeError(f"{b.path} still has a WAL after closing: not publishing a torn file")
        _fsync(b.path)
        fault.point("before_rename")
        os.replace(b.path, s.warehouse_path)
        _fsync(s.warehouse_path.parent)
        fault.point("after_rename")
    log.info("published version %d of the warehouse (run %s)", b.version, b.run_id)
    return {"published": str(s.warehouse_path), "version": b.version}


def airflow_build_gate_publish(dates: list[date], kind: str, step: BuildStep | None = None) -> dict:
    """`build_gate_publish` for a DAG task: a gate failure fails the task without retries."""
    from airflow.exceptions import AirflowFailException

    try:
        return build_gate_publish(dates, kind, step=step)
    except GateFailed as exc:  # the same build fails the same gate: retrying cannot help
        raise AirflowFailException(str(exc)) from exc


def build_gate_publish(
    dates: list[date], kind: str = "nightly", run_id: str | None = None, step: BuildStep | None = None
) -> dict:
    """The transaction of landed dates: build → gate → docs → publish under one lease.

    `step(build)` loads and builds (default: `build`, the dates' day landings); a backfill
    passes its own, which loads its month windows (pipeline/backfill.py)."""
    with transaction(kind, run_id) as b:
        built = step(b) if step is not None else build(b, dates)
        t = time.perf_counter()
        result = gate(b.path)
        built["gate_s"] = round(time.perf_counter() - t, 2)
        data_docs(b.path)
        published = publish(b)
        # post-publish hooks, under the lease: the BI copy (never raises); Asset events are the DAG's
        published["serving"] = serve.after_publish()
    return {**built, "gate": result.summary().splitlines()[0], **published}


def report(d: date, send: bool = True, resend: bool = False) -> dict:
    with warehouse.pinned():  # one published version for the whole report
        return daily.run(d, send=send, resend=resend)


def run(d: date, send_report: bool = True) -> dict:
    """`minhu run --date D`: the whole nightly pipeline for one business date."""
    manifests = extract([d])
    fault.point("after_extract")
    done = build_gate_publish([d], "nightly")
    rep = report(d, send=send_report)
    return {
        "date": d.isoformat(),
        "landed": {m["source"]: m["count"] for m in manifests},
        **done,
        "report": rep,
    }


def backfill(dates: list[date], workers: int | None = None) -> dict:
    """The pipeline over dates: land them in month windows (budget lines once a fiscal year),
    `workers` at a time and resumable, then one build, gate and publish (pipeline/backfill.py).

    Backfills send no reports: leadership gets reports for current periods only.
    """
    from . import backfill as bf

    return bf.run(dates, workers)
