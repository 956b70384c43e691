"""Archive export files (CSV or XLSX) of a source, read as a stream (sources.md "Archive export files", §2 "Files").

`open_archive(path, source)` checks the file (format, encoding, header) and returns a `FileInfo`
plus an iterator of `RowResult`: each data row becomes either a canonical record -- the same JSON
form the HTTP API returns, so one loader handles both -- or a list of `(field_key, reason)` errors.
Memory is bounded whatever the file size: CSV is decoded and parsed line by line, XLSX is read with
openpyxl ``read_only=True``; nothing holds more than one row.

Where each part lives: `extract.opening` (format by magic bytes, CSV encoding), `extract.strict_csv`
(the strict CSV reader), `extract.xlsx` (the XLSX reader), `extract.rows` (`FileInfo`, `RowResult`,
`ArchiveError`, the header mapping and the row parser), `extract.values` (the value parsers),
`extract.quarantine` (a bad row's quarantine entry); `extract.columnar` is the bulk path of imports
that gives the same rows as this reader.

Rules (the lead documents them in the runbook):

* Format by magic bytes: ``PK\\x03\\x04`` is XLSX (first worksheet only; other sheets are reported in
  `FileInfo.ignored_sheets`), an OLE2 ``.xls`` is refused, anything else is CSV.
* CSV encoding from the bytes: a UTF-8 BOM is ``utf-8-sig``; else the whole file is validated as strict
  UTF-8 in chunks; else as GBK (decoded with gb18030, its superset; reported as ``"gbk"``); else
  `ArchiveError` naming the first undecodable byte offset.
* Header = row 1. Chinese headers or English keys (case-insensitive), any order, may be mixed;
  whitespace and BOMs around names are ignored. Unknown columns are ignored and reported in
  `FileInfo.extra_columns`; a missing required column is an `ArchiveError` (nothing loaded);
  a missing optional column gives ``None``. Two columns naming the same field are an `ArchiveError`.
* Row numbers are 1-based and count the header (the first data row is row 2). For CSV they count
  records, not physical lines: a quoted field with line breaks is still one row, as in a spreadsheet.
* Fully blank rows are not data rows: they are skipped and counted in `FileInfo.blank_rows`.
  `FileInfo.rows` counts the data rows yielded; both are final once the iterator is exhausted.
* A row with non-blank cells beyond the header's width gets an error on field ``"_row"``.
* CSV is read strictly (`extract.strict_csv.csv_rows`): a quoting error never merges rows. The
  physical line where the bad quote starts is one bad row (error "unbalanced quote in field X" on
  that field) and reading resumes at the next line. A record may be up to MAX_RECORD_CHARS (16 Mi characters) long; a longer
  one is a bad row of its own. Bad rows keep only the cells before the fault in ``raw``.

Values (canonical form): strings stripped, empty -> ``None``; enums must be one of `Field.values`;
datetimes -> ISO 8601 at ``+08:00`` (no offset means Asia/Shanghai, taken as the fixed +08:00 it has
been since 1991; a date without a time is refused); dates -> ``YYYY-MM-DD`` (a datetime value gives
its Asia/Shanghai date); ints -> int (``"3.0"`` accepted); bools from 是/否, true/false, 1/0, Y/N,
yes/no; decimals -> string with exactly two decimals through `decimal.Decimal`, thousands separators
accepted, more than two non-zero decimal places refused. XLSX float cells are read at Excel's 15
significant digits (what Excel displays), so ``2010350.0`` -> ``"2010350"`` for codes and
``1327790.0000000002`` -> ``"1327790.00"`` for amounts; numbers in a datetime column are Excel serials.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from minhu.schemas import SOURCES

from .opening import detect_encoding, sniff
from .rows import ArchiveError, FileInfo, RowResult
from .strict_csv import csv_rows
from .xlsx import xlsx_rows


def open_archive(path: Path, source: str) -> tuple[FileInfo, Iterator[RowResult]]:
    """Check an archive export and return its FileInfo and a stream of its data rows.

    File-level problems (unreadable, undecodable, missing required columns) raise ArchiveError here,
    before any row. Close the iterator (or exhaust it) to release the file.
    """
    path = Path(path)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    kind = sniff(path)
    if kind == "xls":
        raise ArchiveError(path, "legacy .xls workbook is not supported: save it as .xlsx or CSV")
    gen = xlsx_rows(path, source) if kind == "xlsx" else csv_rows(path, source, detect_encoding(path))
    info = next(gen)
    assert isinstance(info, FileInfo)
    return info, gen  # type: ignore[return-value]
