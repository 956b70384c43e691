"""Landing of archive export files: $MINHU_HOME/raw/imports/<source>/<sha256>/ + quarantine.

`land_file(path, source)` copies the file into a temporary folder (hashing the bytes on the way),
reads the *copy* (streamed: one row, or one batch of rows, in memory at a time) and writes

* ``<file name>``   the original bytes, unchanged;
* ``records.jsonl`` the canonical record of every row that parses, one JSON object a line, in the
  API's JSON form (``ensure_ascii=False, sort_keys=True``), in file order;
* ``manifest.json`` what the file is and what was read (see `FileLanding`); the import fills in
  its accounting (loaded / superseded / quarantined) once the warehouse is published.

A CSV archive file goes through the columnar path (`extract.columnar`: DuckDB parses and checks
it in bulk, rarer value forms go through the strict parser) unless it has anything the strict
Python reader `extract.files.open_archive` treats specially, or a reject check is given, or
MINHU_IMPORT_READER=python: then the Python reader reads it. Both give the same records.jsonl and
quarantine, byte for byte (tests/test_columnar.py). Any other ``reader`` (published budgets) is
used as it is. Progress (rows read, rows/s) goes to the terminal, or one log line per 100k rows.

The folder is renamed into place, so a half-written landing never exists. It is named by the
SHA-256 of the file bytes: landing the same file again reuses the folder and rewrites nothing
(unless the reader itself changed and parses the same bytes differently: then the fresh parse
replaces it, with a warning).

Bad rows go to ``$MINHU_HOME/quarantine/<source>/<sha256>.csv`` (UTF-8 with a BOM so Excel opens it;
columns file,row,field,reason,raw as `extract.quarantine.quarantine_row` makes them: no personal field,
and personal data masked in every other cell and reason). A record longer than MAX_RECORD_BYTES as
JSON is quarantined too (the loader could not read it).
A row can also be rejected by the caller's ``reject(record)`` check (a payment to an unknown
budget line): such rows are valid records, so they stay in records.jsonl, but they are quarantined
and must not be loaded. The quarantine file is rewritten on every landing of the file (it also
depends on what the warehouse knew) and removed when a landing has no bad row.

A file-level problem (unreadable, undecodable, missing required column, a bad header row) raises
`extract.rows.ArchiveError` naming the file; nothing of that file is landed or quarantined.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from minhu.calendar import TZ
from minhu.settings import get_settings

from .columnar import Fallback, open_columnar
from .files import open_archive
from .progress import RowProgress
from .quarantine import quarantine_row
from .rows import ArchiveError, RowResult

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = ("file", "row", "field", "reason", "raw")
COPY_CHUNK = 1 << 20
# The longest line of records.jsonl the loader reads (DuckDB read_json's maximum_object_size,
# 16 MiB by default); a longer record is quarantined here rather than failing the whole load.
MAX_RECORD_BYTES = 16 * 1024 * 1024 - 1

# A reject check: a valid record -> None, or (field, reason) to quarantine the row.
Reject = Callable[[dict[str, Any]], "tuple[str, str] | None"]


@dataclass
class FileLanding:
    source: str
    file: str  # the path as given
    name: str  # the file name (the copy in the landing has the same name)
    sha256: str  # of the file bytes
    batch: str  # file/<source>/<sha256>
    path: str  # the landing folder
    format: str  # csv | xlsx
    encoding: str | None
    sheet: str | None
    ignored_sheets: list[str]
    columns: dict[str, str]  # file header -> field key
    extra_columns: list[str]  # headers not in the contract, ignored
    rows: int  # data rows read (blank rows excluded)
    blank_rows: int
    records: int  # rows that parsed: the lines of records.jsonl
    records_sha256: str
    invalid: int  # rows that did not parse (quarantined)
    rejected: int  # valid rows the reject check refused (quarantined, not loaded)
    extracted_at: str  # when the folder was first landed
    quarantine_path: str | None  # the quarantine CSV, if any row is bad
    reused: bool = False  # the landing folder already existed
    rejected_keys: dict[str, int] = field(default_factory=dict)  # reject reason -> rows

    @property
    def records_path(self) -> Path:
        return Path(self.path) / "records.jsonl"

    @property
    def quarantined(self) -> int:
        return self.invalid + self.rejected

    @property
    def loadable(self) -> int:
        return self.records - self.rejected


def batch_id(source: str, sha256: str) -> str:
    return f"file/{source}/{sha256}"


def landing_root(source: str) -> Path:
    return get_settings().raw_dir / "imports" / source


def quarantine_file(source: str, sha256: str) -> Path:
    return get_settings().quarantine_dir / source / f"{sha256}.csv"


def _copy_hashing(src: Path, dst: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(src, "rb") as fin, open(dst, "wb") as fout:
            while chunk := fin.read(COPY_CHUNK):
                digest.update(chunk)
                fout.write(chunk)
    except OSError as e:
        raise ArchiveError(src, f"cannot read: {e.strerror or e}") from None
    return digest.hexdigest()


class _Quarantine:
    """The quarantine CSV of one landing, opened on the first bad row."""

    def __init__(self, final: Path):
        self.final = final
        self.tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        self.fh = None
        self.writer: csv.DictWriter | None = None
        self.count = 0

    def add(self, entry: dict[str, Any]) -> None:
        if self.writer is None:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.tmp, "w", encoding="utf-8-sig", newline="")
            self.writer = csv.DictWriter(self.fh, fieldnames=QUARANTINE_COLUMNS)
            self.writer.writeheader()
        self.writer.writerow(entry)
        self.count += 1

    def commit(self) -> Path | None:
        if self.fh is None:
            self.final.unlink(missing_ok=True)
            return None
        self.fh.close()
        os.replace(self.tmp, self.final)
        return self.final

    def abort(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.tmp.unlink(missing_ok=True)


def land_file(
    path: str | Path, source: str, reject: Reject | None = None, reader=open_archive
) -> FileLanding:
    """Land one archive file (see the module docstring); ArchiveError on a file-level problem.

    ``reader`` reads the copy as `extract.files.open_archive` does (a published budget file has
    its own: `extract.published.open_published`)."""
    original = Path(path)
    root = landing_root(source)
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".landing-", dir=root))
    quarantine: _Quarantine | None = None
    try:
        copy = tmp / original.name
        sha = _copy_hashing(original, copy)
        quarantine = _Quarantine(quarantine_file(source, sha))
        opened = None
        if (
            reader is open_archive
            and reject is None
            and os.environ.get("MINHU_IMPORT_READER", "columnar") != "python"
        ):
            try:
                opened = open_columnar(copy, source, tmp)
            except ArchiveError as e:
                raise ArchiveError(original, e.message) from None
        counts = None
        if opened is not None:
            try:
                counts = _land_rows(original, *opened, tmp, quarantine, reject)
            except Fallback as e:
                log.warning("%s; landing it with the Python reader", e)
                quarantine.abort()
                quarantine = _Quarantine(quarantine_file(source, sha))
        if counts is None:
            try:
                opened = reader(copy, source)
            except ArchiveError as e:
                raise ArchiveError(original, e.message) from None
            counts = _land_rows(original, *opened, tmp, quarantine, reject)
        info = opened[0]
        digest, records, invalid, rejected, rejected_keys = counts
        sha_records = digest.hexdigest()
        target = root / sha
        landing = FileLanding(
            source=source,
            file=str(path),
            name=original.name,
            sha256=sha,
            batch=batch_id(source, sha),
            path=str(target),
            format=info.format,
            encoding=info.encoding,
            sheet=info.sheet,
            ignored_sheets=list(info.ignored_sheets),
            columns=dict(info.columns),
            extra_columns=list(info.extra_columns),
            rows=info.rows,
            blank_rows=info.blank_rows,
            records=records,
            records_sha256=sha_records,
            invalid=invalid,
            rejected=rejected,
            extracted_at=datetime.now(TZ).isoformat(),
            quarantine_path=None,
            rejected_keys=rejected_keys,
        )
        previous = read_manifest(target)
        if previous is not None and previous.get("records_sha256") == sha_records:
            landing.extracted_at = previous["extracted_at"]
            landing.reused = True
        else:
            if previous is not None:
                log.warning(
                    "%s: the reader now parses %s differently; landing it again", target, original.name
                )
            _write_manifest(tmp, landing)
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=".replaced-", dir=root))
                os.rename(target, old / "landing")
                os.rename(tmp, target)
                shutil.rmtree(old)
            else:
                os.rename(tmp, target)
        qpath = quarantine.commit()
        quarantine = None
        landing.quarantine_path = str(qpath) if qpath else None
        return landing
    finally:
        if quarantine is not None:
            quarantine.abort()
        if tmp.exists():
            shutil.rmtree(tmp)


def _land_rows(
    original: Path, info: Any, rows: Any, tmp: Path, quarantine: _Quarantine, reject: Reject | None
) -> tuple[Any, int, int, int, dict[str, int]]:
    """Write records.jsonl and the quarantine entries of one reader's rows; the counts.

    A row comes with its record (the Python reader) or already as its JSON line (the columnar
    path, only used without a reject check: it sends every row it cannot make a short line of to
    the Python parser, so such a row has its record and raw cells).
    """
    name = original.name
    digest = hashlib.sha256()
    records = invalid = rejected = 0
    rejected_keys: dict[str, int] = {}
    dumps = json.dumps
    try:
        with (
            open(tmp / "records.jsonl", "wb", buffering=COPY_CHUNK) as out,
            RowProgress(f"landing {name}") as progress,
        ):
            advance = progress.advance
            for res in rows:
                if res.record is None and res.line is None:
                    advance()
                    quarantine.add(quarantine_row(name, res))
                    invalid += 1
                    continue
                if res.line is not None:  # columnar rows, checked against MAX_RECORD_BYTES in SQL
                    assert reject is None, "the columnar path is only used without a reject check"
                    advance(res.count)
                    digest.update(res.line)
                    out.write(res.line)
                    records += res.count
                    continue
                advance()
                line = dumps(res.record, ensure_ascii=False, sort_keys=True).encode() + b"\n"
                if len(line) > MAX_RECORD_BYTES:
                    reason = f"row is {len(line):,} bytes as a record, more than {MAX_RECORD_BYTES:,}"
                    quarantine.add(
                        quarantine_row(name, RowResult(res.row, None, [("_row", reason)], res.raw))
                    )
                    invalid += 1
                    continue
                digest.update(line)
                out.write(line)
                records += 1
                if reject is not None:
                    refused = reject(res.record)
                    if refused is not None:
                        bad = RowResult(res.row, None, [refused], res.raw)
                        quarantine.add(quarantine_row(name, bad))
                        rejected += 1
                        rejected_keys[refused[1]] = rejected_keys.get(refused[1], 0) + 1
    except ArchiveError as e:
        raise ArchiveError(original, e.message) from None
    finally:
        rows.close()
    return digest, records, invalid, rejected, rejected_keys


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _manifest_body(landing: FileLanding, accounting: dict | None) -> dict:
    body = asdict(landing)
    for k in ("path", "reused", "file", "rejected_keys"):
        body.pop(k)
    body["file"] = landing.name
    body["landed_records"] = body.pop("records")
    body["invalid_rows"] = body.pop("invalid")
    body["rejected_rows"] = body.pop("rejected")
    acc = accounting or {}
    body["loaded"] = acc.get("loaded")
    body["superseded"] = acc.get("superseded")
    body["quarantined"] = acc.get("quarantined")
    if "cases" in acc:
        body["cases"] = acc["cases"]
    body["imported_at"] = acc.get("imported_at")
    return body


def _write_manifest(folder: Path, landing: FileLanding, accounting: dict | None = None) -> None:
    tmp = folder / f".manifest.json.{os.getpid()}.tmp"
    tmp.write_text(
        json.dumps(_manifest_body(landing, accounting), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    os.replace(tmp, folder / "manifest.json")


def record_accounting(landing: FileLanding, accounting: dict) -> None:
    """Write the accounting of a published import into the landing's manifest (atomically).

    records.jsonl and the file copy are never rewritten; the manifest says how the last
    successful import of the file was accounted: loaded, superseded, quarantined (and cases).
    """
    _write_manifest(Path(landing.path), landing, {**accounting, "imported_at": datetime.now(TZ).isoformat()})
