"""Landing: raw records written immutably under $MINHU_HOME/raw/<source>/<business_date>/.

Each extraction of a window is one landing folder ``<extracted_at>/`` holding
``records.jsonl`` (the records exactly as the source sent them, one JSON object a line) and
``manifest.json`` (window, count, source count, checksum, extracted_at, retries). A landing is
written to a temporary folder and renamed into place, so a half-written landing never exists; a
failed landing removes its temporary folder and the folders it created, and the half-written
folder a kill -9 leaves is removed by the next landing of the window.
Landing the same records again writes nothing: the newest landing with the same checksum is
reused. Nothing ever rewrites a landed file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import tempfile
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from minhu import fault
from minhu.calendar import TZ
from minhu.lease import pid_alive
from minhu.settings import get_settings

from .api import Client, CountMismatch, FetchStats, Window


@dataclass
class Manifest:
    source: str
    business_date: str
    window: dict
    count: int
    source_count: int
    checksum: str
    extracted_at: str
    path: str
    pages: int = 0
    requests: int = 0
    retries: dict | None = None
    duplicates_dropped: int = 0
    extra_fields: list | None = None

    @property
    def records_path(self) -> Path:
        return Path(self.path) / "records.jsonl"

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        data["path"] = str(folder)
        return cls(**data)


def day_window(source: str, business_date: date, district: str | None = None) -> Window:
    """The change-feed window of a business date: [D 00:00, D+1 00:00) Asia/Shanghai.

    Budget lines are few: each night re-reads the whole fiscal year so far, so one run on any
    date sees every line of its year.
    """
    start = datetime.combine(business_date, datetime.min.time(), TZ)
    end = start + timedelta(days=1)
    if source == "budget_lines":
        year_start = datetime(business_date.year, 1, 1, tzinfo=TZ)
        return Window(source, year_start, end, fiscal_year=business_date.year)
    return Window(source, start, end, district=district if source == "cases" else None)


def landing_dir(source: str, business_date: date) -> Path:
    return get_settings().raw_dir / source / business_date.isoformat()


def latest_landing(source: str, business_date: date) -> Manifest | None:
    return latest_in(landing_dir(source, business_date))


def latest_in(folder: Path) -> Manifest | None:
    """The newest complete landing in a window's folder, or None."""
    if not folder.exists():
        return None
    done = sorted(
        p for p in folder.iterdir() if not p.name.startswith(".") and (p / "manifest.json").exists()
    )  # a dot folder is a landing still being written (or left half-written by a kill -9)
    return Manifest.read(done[-1]) if done else None


def land_window(
    source: str, business_date: date, client: Client | None = None, limit: int = 1000
) -> Manifest:
    """Extract one day window, land it, and reconcile the landed count with the source's /count."""
    window = day_window(source, business_date, get_settings().district)
    return land(
        window, landing_dir(source, business_date), business_date.isoformat(), client or Client(), limit
    )


def land(window: Window, target: Path, label: str, client: Client, limit: int = 1000) -> Manifest:
    """Extract any window into `target` (one folder a window), reconciled with the source's /count.

    `label` is the manifest's business_date: the date of a day window, ``first..last`` for a
    backfill's month window (extract/backfill.py)."""
    source = window.source
    stats = FetchStats()
    made = _make_dirs(target)
    _sweep_dead_tmp(target)
    tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{socket.gethostname()}.{os.getpid()}.", dir=target))
    landed = False
    try:
        digest = hashlib.sha256()
        count = 0
        with open(tmp / "records.jsonl", "wb") as fh:
            for page in client.pages(window, limit=limit, stats=stats):
                for rec in page:
                    line = json.dumps(rec, ensure_ascii=False, sort_keys=True).encode() + b"\n"
                    digest.update(line)
                    fh.write(line)
                    count += 1
        source_count = client.count(window)
        if count != source_count:
            raise CountMismatch(
                f"{window}: landed {count} records but the source counts {source_count}; nothing was landed"
            )
        checksum = digest.hexdigest()
        previous = latest_in(target)
        if previous and previous.checksum == checksum:
            landed = True
            return previous
        extracted_at = datetime.now(TZ)
        manifest = Manifest(
            source=source,
            business_date=label,
            window={k: v for k, v in window.params().items()},
            count=count,
            source_count=source_count,
            checksum=checksum,
            extracted_at=extracted_at.isoformat(),
            path="",
            pages=stats.pages,
            requests=stats.requests,
            retries=stats.retries,
            duplicates_dropped=stats.duplicates_dropped,
            extra_fields=sorted(stats.extra_fields),
        )
        body = {k: v for k, v in asdict(manifest).items() if k != "path"}
        (tmp / "manifest.json").write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
        final = target / extracted_at.strftime("%Y%m%dT%H%M%S%f")
        fault.point("landing")
        os.rename(tmp, final)
        landed = True
        manifest.path = str(final)
        return manifest
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
        if not landed:  # a failed landing leaves nothing behind, not even its folders
            for d in reversed(made):
                with contextlib.suppress(OSError):
                    d.rmdir()  # only if empty: another landing may have arrived meanwhile


TMP_PREFIX = ".landing."  # .landing.<host>.<pid>.<random>: the half-written landing of a process


def _make_dirs(folder: Path) -> list[Path]:
    """mkdir -p; returns the folders it created, outermost first."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        p = p.parent
    folder.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _sweep_dead_tmp(folder: Path) -> None:
    """Remove half-written landings of processes of this host that no longer exist (kill -9)."""
    host = socket.gethostname()
    for p in folder.glob(TMP_PREFIX + "*"):
        try:
            owner, pid, _ = p.name[len(TMP_PREFIX) :].rsplit(".", 2)
            if owner == host and not pid_alive(int(pid)):
                shutil.rmtree(p, ignore_errors=True)
        except ValueError:
            continue


SOURCES_NIGHTLY = ("cases", "budget_lines", "payments")


def extract_day(business_date: date, sources: tuple[str, ...] = SOURCES_NIGHTLY) -> list[Manifest]:
    client = Client()
    return [land_window(s, business_date, client) for s in sources]
