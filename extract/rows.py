"""What an archive reader yields (`FileInfo`, `RowResult`, `ArchiveError`) and what every reader
of a source's rows shares: the header mapping and the row parser (rules in `extract.files`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from minhu.schemas import Field, fields

from .values import cell_text, parse_string, parser_of

ROW_FIELD = "_row"  # error key of a row-level problem (cells beyond the header)


class ArchiveError(Exception):
    """A file-level problem: nothing (more) can be loaded from the file."""

    def __init__(self, file: str | Path, message: str):
        self.file = str(file)
        self.message = message
        super().__init__(f"{self.file}: {message}")


@dataclass
class RowResult:
    row: int  # 1-based, header included: the first data row is 2
    record: dict[str, Any] | None  # canonical record, or None when errors is not empty
    errors: list[tuple[str, str]]  # (field_key, reason)
    raw: dict[str, str]  # original cell text by English key (mapped columns only), for quarantine
    # the columnar path: `count` consecutive good rows (from `row` on) already as their
    # records.jsonl lines, each ending in a newline (record is then None, errors and raw empty)
    line: bytes | None = None
    count: int = 1


@dataclass
class FileInfo:
    path: Path
    format: str  # "csv" | "xlsx"
    encoding: str | None  # "utf-8" | "utf-8-sig" | "gbk" for CSV, None for XLSX
    columns: dict[str, str]  # file header -> field key
    extra_columns: list[str]  # headers not in the contract, ignored
    source: str = ""
    sheet: str | None = None  # XLSX: the worksheet read
    ignored_sheets: list[str] = field(default_factory=list)  # XLSX: other worksheets, not read
    rows: int = 0  # data rows yielded so far
    blank_rows: int = 0  # fully blank rows skipped so far (not data rows)


# --------------------------------------------------------------------------------------------- header


def norm_header(h: object) -> str:
    if h is None:
        return ""
    return (h if isinstance(h, str) else cell_text(h)).strip().strip("\ufeff").strip()


def map_header(
    path: Path,
    source: str,
    header: list[object],
    flds: list[Field] | None = None,
    blank_is_extra: bool = True,
    what: str | None = None,
) -> tuple[dict[str, str], list[str], dict[str, int]]:
    """(file header -> field key, ignored headers, field key -> column index) of a header row.

    Chinese headers or English keys (case-insensitive) of ``flds`` (the fields of ``source`` by
    default); ArchiveError when two columns name one field or a required field has no column.
    A blank header before the last named column is reported as ignored when ``blank_is_extra``;
    ``what`` names the file's kind in the missing-column error (default: the source)."""
    flds = fields(source) if flds is None else flds
    lookup: dict[str, str] = {}
    for f in flds:
        lookup[f.header] = f.key
        lookup[f.key.lower()] = f.key
    columns: dict[str, str] = {}
    extra: list[str] = []
    index: dict[str, int] = {}
    names = [norm_header(h) for h in header]
    last = max((i for i, n in enumerate(names) if n), default=-1)
    for i, name in enumerate(names):
        if not name:
            if blank_is_extra and i < last:
                extra.append(f"(blank header, column {i + 1})")
            continue
        key = lookup.get(name) or lookup.get(name.lower())
        if key is None:
            extra.append(name)
            continue
        if key in index:
            first = names[index[key]]
            raise ArchiveError(path, f"columns '{first}' and '{name}' both map to field {key}")
        columns[name] = key
        index[key] = i
    missing = [f"{f.key} ({f.header})" for f in flds if f.required and f.key not in index]
    if missing:
        raise ArchiveError(path, f"missing required column(s) for {what or source}: {', '.join(missing)}")
    return columns, extra, index


# --------------------------------------------------------------------------------------------- rows


class RowParser:
    """Turns the cells of one row into a RowResult; built once per file."""

    def __init__(self, source: str, index: dict[str, int], width: int, epoch: datetime, text_cells: bool):
        flds = fields(source)
        self.base: dict[str, Any] = {f.key: None for f in flds}
        self.plan = [
            (f.key, index[f.key], parser_of(f, epoch), f.required, f.personal, f.type)
            for f in flds
            if f.key in index
        ]
        self.raw_plan = [(f.key, index[f.key]) for f in flds if f.key in index]
        self.width = width
        self.text_cells = text_cells  # CSV: every cell is a str

    def __call__(self, rownum: int, cells: list[Any] | tuple[Any, ...]) -> RowResult:
        n = len(cells)
        record = self.base.copy()
        errors: list[tuple[str, str]] = []
        for key, i, parse, required, personal, ftype in self.plan:
            v = cells[i] if i < n else None
            if type(v) is str:
                v = v.strip()
                if not v:
                    v = None
                elif parse is None:
                    record[key] = v
                    continue
            if v is None:
                if required:
                    errors.append((key, "required field is blank"))
                continue
            try:
                record[key] = parse(v) if parse is not None else parse_string(v)
            except ValueError as e:
                reason = f"invalid {ftype} (personal field, value not shown)" if personal else str(e)
                errors.append((key, reason))
        if n > self.width:
            tail = sum(1 for c in cells[self.width :] if c is not None and (type(c) is not str or c.strip()))
            if tail:
                errors.append((ROW_FIELD, f"{tail} non-blank cell(s) beyond the {self.width} header columns"))
        if self.text_cells:
            raw = {key: cells[i] if i < n else "" for key, i in self.raw_plan}
        else:
            raw = {key: _raw_text(cells[i]) if i < n else "" for key, i in self.raw_plan}
        if errors:
            return RowResult(rownum, None, errors, raw)
        return RowResult(rownum, record, errors, raw)


def _raw_text(v: object) -> str:
    if v is None:
        return ""
    if type(v) is str:
        return v
    return str(v)


def is_blank(cells: list[Any] | tuple[Any, ...]) -> bool:
    for c in cells:
        if c is not None and (type(c) is not str or c.strip()):
            return False
    return True
