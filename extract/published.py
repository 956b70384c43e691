"""Reading a published budget file (部门预算公开表, long format of minhu/published.py).

`open_published(path)` has the interface of `extract.files.open_archive`, so `extract.imports.
land_file(path, "published_budget", reader=open_published)` lands it as every archive import is
landed: the bytes unchanged under $MINHU_HOME/raw/imports/published_budget/<sha256>/, the canonical
records (records.jsonl), the manifest, and bad rows in the quarantine CSV naming row, field and
reason. CSV only (UTF-8, UTF-8 with BOM or GBK, as archive exports): header = row 1, English keys
or the Chinese headers of minhu/published.py, any order; unknown columns are ignored.

A row is valid when its fields parse (fiscal_year an integer, amount a decimal with at most two
places, dimension / measure / amount_unit in their value sets) and its code fits its dimension:
function codes are 3, 5 or 7 digits (类/款/项), economic codes 3 or 5 (类/款), a fund_source row
names the fund source in `code`, a total row has no code.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from minhu import published

from .opening import DECODE_AS, detect_encoding, sniff
from .rows import ArchiveError, FileInfo, RowResult, is_blank, map_header
from .values import parse_decimal, parse_int

_CODE = {"function": re.compile(r"\d{3}|\d{5}|\d{7}"), "economic": re.compile(r"\d{3}|\d{5}")}
_FIELDS = {f.key: f for f in published.FIELDS}


def _header(path: Path, header: list[str]) -> tuple[dict[str, str], list[str], dict[str, int]]:
    return map_header(
        path,
        published.SOURCE,
        header,
        list(published.FIELDS),
        blank_is_extra=False,
        what="a published budget",
    )


def _row(rownum: int, cells: list[str], index: dict[str, int]) -> RowResult:
    raw = {k: cells[i] if i < len(cells) else "" for k, i in index.items()}
    record: dict = {f.key: None for f in published.FIELDS}
    errors: list[tuple[str, str]] = []
    for key, text in raw.items():
        f = _FIELDS[key]
        v = text.strip()
        if not v:
            if f.required:
                errors.append((key, "required field is blank"))
            continue
        try:
            if f.type == "int":
                record[key] = parse_int(v)
            elif f.type == "decimal":
                record[key] = parse_decimal(v)
            elif f.type == "enum" and v not in (f.values or ()):
                raise ValueError(f"unknown {key} '{v}' (expected one of {', '.join(f.values or ())})")
            else:
                record[key] = v
        except ValueError as e:
            errors.append((key, str(e)))
    dim, code = record["dimension"], record["code"]
    if dim in _CODE and not (code and _CODE[dim].fullmatch(code)):
        errors.append(
            (
                "code",
                f"a {dim} code has {'3, 5 or 7' if dim == 'function' else '3 or 5'} digits, got '{code or ''}'",
            )
        )
    elif dim == "fund_source" and not code:
        errors.append(("code", "a fund_source row names the fund source in code"))
    elif dim == "total" and code:
        errors.append(("code", f"a total row has no code, got '{code}'"))
    if errors:
        return RowResult(rownum, None, errors, raw)
    return RowResult(rownum, record, errors, raw)


def _rows(path: Path, encoding: str) -> Iterator[FileInfo | RowResult]:
    with (
        open(path, "rb") as binary,
        io.TextIOWrapper(binary, encoding=DECODE_AS[encoding], newline="") as text,
    ):
        reader = csv.reader(text)
        rownum = 1
        try:
            header = next(reader, None)
            if header is None or is_blank(header):
                raise ArchiveError(path, "row 1 must be the header row, found an empty row")
            columns, extra, index = _header(path, header)
            info = FileInfo(path, "csv", encoding, columns, extra, source=published.SOURCE)
            yield info
            for cells in reader:
                rownum += 1
                if not cells or is_blank(cells):
                    info.blank_rows += 1
                    continue
                info.rows += 1
                yield _row(rownum, cells, index)
        except csv.Error as e:
            raise ArchiveError(path, f"CSV syntax error at row {rownum + 1}: {e}") from None


def open_published(path: Path, source: str = published.SOURCE) -> tuple[FileInfo, Iterator[RowResult]]:
    """Check a published budget file and return its FileInfo and a stream of its rows."""
    path = Path(path)
    if sniff(path) != "csv":
        raise ArchiveError(path, "a published budget is read from CSV: save the workbook as CSV (UTF-8)")
    gen = _rows(path, detect_encoding(path))
    info = next(gen)
    return info, gen  # type: ignore[return-value]
