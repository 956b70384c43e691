"""Archive export files (CSV or XLSX) of a source, read as a stream (sources.md "Archive export files", §2 "Files").

`open_archive(path, source)` checks the file (format, encoding, header) and returns a `FileInfo`
plus an iterator of `RowResult`: each data row becomes either a canonical record -- the same JSON
form the HTTP API returns, so one loader handles both -- or a list of `(field_key, reason)` errors.
Memory is bounded whatever the file size: CSV is decoded and parsed line by line, XLSX is read with
openpyxl ``read_only=True``; nothing holds more than one row.

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
* CSV is read strictly (`_csv_rows`): a quoting error never merges rows. The physical line where the
  bad quote starts is one bad row (error "unbalanced quote in field X" on that field) and reading
  resumes at the next line. A record may be up to MAX_RECORD_CHARS (16 Mi characters) long; a longer
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

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from minhu import pii
from minhu.schemas import SOURCES, Field, fields

TZ = timezone(timedelta(hours=8))  # Asia/Shanghai (no DST since 1991)
CHUNK = 1 << 18  # bytes per read of the encoding validation
ROW_FIELD = "_row"  # error key of a row-level problem (cells beyond the header)

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_DT_RE = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)
_CENT = Decimal("0.01")
_TRUE = frozenset({"是", "true", "t", "1", "1.0", "y", "yes"})
_FALSE = frozenset({"否", "false", "f", "0", "0.0", "n", "no"})


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


# --------------------------------------------------------------------------------------------- values


def _q(v: object, limit: int = 60) -> str:
    s = str(v)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return f"'{s}'"


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _number_text(v: int | float) -> str:
    """A numeric cell as text at Excel's display precision: 2010350.0 -> '2010350'."""
    if isinstance(v, int):
        return str(v)
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number {_q(v)}")
    s = format(v, ".15g")
    if "e" in s or "E" in s:
        s = format(Decimal(s), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def _cell_text(v: object) -> str:
    """Non-string cell as the text a string/enum field gets."""
    if _is_number(v):
        return _number_text(v)  # type: ignore[arg-type]
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    return str(v)


def _aware_iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    elif dt.utcoffset() != timedelta(hours=8):
        dt = dt.astimezone(TZ)
    else:
        dt = dt.replace(tzinfo=TZ)
    return dt.isoformat()


def _parse_dt_text(s: str) -> datetime:
    """'2024-03-01 09:15:00', '2024/3/1 9:15', '…T…+08:00', '…Z' -> datetime (naive = local)."""
    m = _DT_RE.fullmatch(s)
    if m is None:
        raise ValueError(f"unparseable datetime {_q(s)}")
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    try:
        dt = datetime(
            int(y),
            int(mo),
            int(d),
            int(hh or 0),
            int(mm or 0),
            int(ss or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError:
        raise ValueError(f"unparseable datetime {_q(s)}") from None
    if hh is None:
        raise ValueError(f"unparseable datetime {_q(s)} (a date without a time)")
    if tz:
        if tz in ("Z", "z"):
            off = timedelta(0)
        else:
            digits = tz[1:].replace(":", "")
            off = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            if off >= timedelta(hours=24):
                raise ValueError(f"unparseable datetime {_q(s)}")
            if tz[0] == "-":
                off = -off
        dt = dt.replace(tzinfo=timezone(off))
    return dt


def _from_excel_serial(v: float, epoch: datetime) -> datetime:
    if not 0 <= v < 2958466:  # up to 9999-12-31
        raise ValueError(f"unparseable datetime {_q(v)} (not an Excel date)")
    from openpyxl.utils.datetime import from_excel

    dt = from_excel(v, epoch)
    if isinstance(dt, datetime):
        return dt.replace(microsecond=round(dt.microsecond / 1000) * 1000 % 1_000_000)
    raise ValueError(f"unparseable datetime {_q(v)}")


def _make_datetime(epoch: datetime) -> Callable[[object], str]:
    fromiso = datetime.fromisoformat

    def parse(v: object) -> str:
        if type(v) is str:
            n = len(v)
            # Fast paths: 'YYYY-MM-DD HH:MM:SS' and 'YYYY-MM-DDTHH:MM:SS+08:00'.
            if (
                (n == 19 or (n == 25 and v[19:] == "+08:00"))
                and v[4] == "-"
                and v[7] == "-"
                and (v[10] == " " or v[10] == "T")
                and v[13] == ":"
                and v[16] == ":"
            ):
                try:
                    fromiso(v)
                except ValueError:
                    raise ValueError(f"unparseable datetime {_q(v)}") from None
                return f"{v[:10]}T{v[11:19]}+08:00"
            return _aware_iso(_parse_dt_text(v))
        if isinstance(v, datetime):
            return _aware_iso(v)
        if _is_number(v):
            return _aware_iso(_from_excel_serial(float(v), epoch))  # type: ignore[arg-type]
        if isinstance(v, date | time):
            raise ValueError(f"unparseable datetime {_q(v)} (a {type(v).__name__} cell, not a datetime)")
        raise ValueError(f"unparseable datetime {_q(v)}")

    return parse


def _make_date(epoch: datetime) -> Callable[[object], str]:
    fromiso = date.fromisoformat
    dt_parse = _make_datetime(epoch)

    def parse(v: object) -> str:
        if type(v) is str:
            if len(v) == 10 and v[4] == "-" and v[7] == "-":
                try:
                    fromiso(v)
                except ValueError:
                    raise ValueError(f"unparseable date {_q(v)}") from None
                return v
            parts = v.replace("/", "-").replace(".", "-").split("-")
            if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
                try:
                    return date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
                except ValueError:
                    raise ValueError(f"unparseable date {_q(v)}") from None
            try:
                return dt_parse(v)[:10]
            except ValueError:
                raise ValueError(f"unparseable date {_q(v)}") from None
        if isinstance(v, datetime):
            return dt_parse(v)[:10]
        if isinstance(v, date):
            return v.isoformat()
        if _is_number(v):
            return dt_parse(v)[:10]
        raise ValueError(f"unparseable date {_q(v)}")

    return parse


def _parse_int(v: object) -> int:
    if type(v) is str:
        try:
            return int(v)
        except ValueError:
            pass
        try:
            d = Decimal(v.replace(",", "") if _THOUSANDS_RE.fullmatch(v) else v)
        except InvalidOperation:
            raise ValueError(f"not an integer {_q(v)}") from None
        if d.is_finite() and d == d.to_integral_value():
            return int(d)
        raise ValueError(f"not an integer {_q(v)}")
    if isinstance(v, bool):
        raise ValueError(f"not an integer {_q(v)}")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise ValueError(f"not an integer {_q(v)}")


def _parse_bool(v: object) -> bool:
    if isinstance(v, bool):
        return v
    s = (v if type(v) is str else _cell_text(v)).lower()  # type: ignore[union-attr]
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError(f"not a boolean {_q(v)} (expected 是/否, true/false, 1/0, Y/N)")


def _parse_decimal(v: object) -> str:
    if type(v) is str:
        s = v
        if "," in s:
            if not _THOUSANDS_RE.fullmatch(s):
                raise ValueError(f"unparseable amount {_q(v)}")
            s = s.replace(",", "")
    elif _is_number(v):
        s = _number_text(v)  # type: ignore[arg-type]
    else:
        raise ValueError(f"unparseable amount {_q(v)}")
    try:
        d = Decimal(s)
        if not d.is_finite():
            raise InvalidOperation
        q = d.quantize(_CENT)
    except InvalidOperation:
        raise ValueError(f"unparseable amount {_q(v)}") from None
    if q != d:
        raise ValueError(f"amount {_q(v)} has more than 2 decimal places")
    if not q:
        return "0.00"
    return format(q, "f")


def _make_enum(f: Field) -> Callable[[object], str]:
    allowed = frozenset(f.values or ())

    def parse(v: object) -> str:
        s = v if type(v) is str else _cell_text(v)
        if s in allowed:
            return s  # type: ignore[return-value]
        raise ValueError(f"unknown {f.key} {_q(s)}")

    return parse


def _parse_string(v: object) -> str:
    return _cell_text(v)  # only called for non-str cells: strings are taken as they are


def _parser(f: Field, epoch: datetime) -> Callable[[object], Any] | None:
    """The parser of a field; None for string/text (the stripped cell is the value)."""
    t = f.type
    if t in ("string", "text"):
        return None
    if t == "enum":
        return _make_enum(f)
    if t == "datetime":
        return _make_datetime(epoch)
    if t == "date":
        return _make_date(epoch)
    if t == "int":
        return _parse_int
    if t == "bool":
        return _parse_bool
    if t == "decimal":
        return _parse_decimal
    raise ValueError(f"field {f.key}: unknown type {t}")


# --------------------------------------------------------------------------------------------- header


def _norm_header(h: object) -> str:
    if h is None:
        return ""
    return (h if isinstance(h, str) else _cell_text(h)).strip().strip("\ufeff").strip()


def _map_header(
    path: Path, source: str, header: list[object]
) -> tuple[dict[str, str], list[str], dict[str, int]]:
    flds = fields(source)
    lookup: dict[str, str] = {}
    for f in flds:
        lookup[f.header] = f.key
        lookup[f.key.lower()] = f.key
    columns: dict[str, str] = {}
    extra: list[str] = []
    index: dict[str, int] = {}
    names = [_norm_header(h) for h in header]
    last = max((i for i, n in enumerate(names) if n), default=-1)
    for i, name in enumerate(names):
        if not name:
            if i < last:
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
        raise ArchiveError(path, f"missing required column(s) for {source}: {', '.join(missing)}")
    return columns, extra, index


# --------------------------------------------------------------------------------------------- rows


class _RowParser:
    """Turns the cells of one row into a RowResult; built once per file."""

    def __init__(self, source: str, index: dict[str, int], width: int, epoch: datetime, text_cells: bool):
        flds = fields(source)
        self.base: dict[str, Any] = {f.key: None for f in flds}
        self.plan = [
            (f.key, index[f.key], _parser(f, epoch), f.required, f.personal, f.type)
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
                record[key] = parse(v) if parse is not None else _parse_string(v)
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


def _is_blank(cells: list[Any] | tuple[Any, ...]) -> bool:
    for c in cells:
        if c is not None and (type(c) is not str or c.strip()):
            return False
    return True


# --------------------------------------------------------------------------------------------- CSV


def _first_bad_byte(path: Path, encoding: str) -> int | None:
    """Offset of the first byte that does not decode strictly, or None if the whole file decodes."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    pos = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(CHUNK)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as e:
                return pos - pending + e.start
            if not chunk:
                return None
            pos += len(chunk)


def detect_encoding(path: Path) -> str:
    """'utf-8-sig', 'utf-8' or 'gbk' from the bytes (see module docstring); ArchiveError otherwise."""
    with open(path, "rb") as f:
        head = f.read(3)
    if head == codecs.BOM_UTF8:
        bad = _first_bad_byte(path, "utf-8-sig")
        if bad is not None:
            raise ArchiveError(path, f"starts with a UTF-8 BOM but byte offset {bad} is not valid UTF-8")
        return "utf-8-sig"
    bad_utf8 = _first_bad_byte(path, "utf-8")
    if bad_utf8 is None:
        return "utf-8"
    bad_gbk = _first_bad_byte(path, "gb18030")
    if bad_gbk is None:
        return "gbk"
    raise ArchiveError(
        path,
        f"cannot decode: not UTF-8 (invalid byte at offset {bad_utf8}) "
        f"and not GBK (invalid byte at offset {bad_gbk})",
    )


_DECODE_AS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030"}

MAX_RECORD_CHARS = 16 * 1024 * 1024  # one CSV record (its cells together) at most: 16 Mi characters
_RAW_PREFIX = 4096  # characters of an oversize line kept to show its leading cells in quarantine
csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_CHARS + 1))


class _TooLarge(Exception):
    """A record (or one physical line) is longer than MAX_RECORD_CHARS."""


class _Lines:
    """The physical lines of a decoded CSV, fed to csv.reader one by one.

    It remembers the lines the current record took (``taken``: (line number, text)), so a record
    that turns out to be bad can give back all but its first line (`give_back`) to be read again.
    Memory is bounded by one record (MAX_RECORD_CHARS): a physical line longer than that is not
    kept (only its first characters, for the quarantine) and raises _TooLarge.
    """

    def __init__(self, text: io.TextIOBase):
        self.text = text
        # (line number, text, oversize); oversize lines keep only their first _RAW_PREFIX characters
        self.pending: list[tuple[int, str, bool]] = []  # given back, in reverse order (pop from the end)
        self.taken: list[tuple[int, str, bool]] = []
        self.size = 0
        self.lineno = 0  # physical lines read from the file

    def __iter__(self) -> _Lines:
        return self

    def start(self) -> None:
        self.taken = []
        self.size = 0

    def give_back(self, items: list[tuple[int, str, bool]]) -> None:
        self.pending.extend(reversed(items))

    def __next__(self) -> str:
        if self.pending:
            item = self.pending.pop()
        else:
            line = self.text.readline(MAX_RECORD_CHARS + 1)
            if not line:
                raise StopIteration
            self.lineno += 1
            oversize = len(line) > MAX_RECORD_CHARS and line[-1] not in "\r\n"
            if oversize:
                while (rest := self.text.readline(CHUNK)) and rest[-1] not in "\r\n":
                    pass  # the rest of the oversize line: read, not kept
                line = line[:_RAW_PREFIX]
            item = (self.lineno, line, oversize)
        self.taken.append(item)
        if item[2]:
            raise _TooLarge
        self.size += len(item[1])
        if self.size > MAX_RECORD_CHARS:
            raise _TooLarge
        return item[1]


def _quote_fault(line: str) -> tuple[int, int] | None:
    """(column index, character offset) of the field whose quoting is wrong on this one line -- a
    quote that does not close on the line, or a closing quote followed by something other than a
    comma -- or None when the line is well-formed on its own."""
    s = line.rstrip("\r\n")
    n = len(s)
    i = col = 0
    while True:
        if i < n and s[i] == '"':
            j = i + 1
            while True:
                k = s.find('"', j)
                if k == -1:
                    return col, i
                if k + 1 < n and s[k + 1] == '"':
                    j = k + 2
                    continue
                break
            if k + 1 == n:
                return None
            if s[k + 1] != ",":
                return col, i
            i = k + 2
        else:
            k = s.find(",", i)
            if k == -1:
                return None
            i = k + 1
        col += 1


def _complete(cells: list[str], width: int) -> bool:
    """A record with the header's column count (blank cells beyond the header do not count)."""
    if len(cells) < width:
        return False
    return all(not c.strip() for c in cells[width:])


def _single_line_record(line: str, width: int) -> bool:
    """Does this physical line parse on its own as a complete record?"""
    if _quote_fault(line) is not None:
        return False
    try:
        cells = next(csv.reader([line], strict=True), [])
    except csv.Error:
        return False
    return _complete(cells, width)


class _CsvBadRow:
    """The quarantine entry of a physical line where CSV quoting breaks (or that is too long)."""

    def __init__(self, header: list[str], index: dict[str, int]):
        self.labels = [_norm_header(h) or f"column {i + 1}" for i, h in enumerate(header)]
        self.key_at = {i: key for key, i in index.items()}

    def label(self, col: int) -> str:
        if col >= len(self.labels):
            return f"column {col + 1} (beyond the header)"
        key = self.key_at.get(col)
        name = self.labels[col]
        return name if key is None or key == name else f"{name} ({key})"

    def __call__(self, rownum: int, first: tuple[int, str, bool], too_large: bool) -> RowResult:
        lineno, line, oversize = first
        where = f" (line {lineno} of the file)" if lineno != rownum else ""
        fault = _quote_fault(line)
        col, offset = fault if fault is not None else (1 << 30, len(line))
        field_key = self.key_at.get(col, ROW_FIELD)
        if oversize:
            what = f" (field {self.label(col)})" if fault is not None else ""
            reason = f"row longer than {MAX_RECORD_CHARS:,} characters{what}"
        elif fault is not None:
            reason = f"unbalanced quote in field {self.label(col)}"
            if too_large:
                reason += f" (no closing quote within {MAX_RECORD_CHARS:,} characters)"
        else:
            reason = f"row longer than {MAX_RECORD_CHARS:,} characters"
        reason += where + "; the row is not loaded, reading resumed at the next line"
        head = line[:offset]
        try:
            cells = next(csv.reader([head]), []) if head else []
        except csv.Error:
            cells = []
        raw = {key: cells[i] for i, key in sorted(self.key_at.items()) if i < min(col, len(cells))}
        if oversize or fault is not None:
            raw["_unread"] = "the rest of the row is not shown"
        return RowResult(rownum, None, [(field_key, reason)], raw)


def _csv_rows(path: Path, source: str, encoding: str) -> Iterator[FileInfo | RowResult]:
    """CSV rows, strictly: a quoting error never merges rows.

    A record that breaks CSV quoting -- a quote that never closes, text after a closing quote, or
    a quoted field that spans lines and does not end in a record of the header's column count --
    is set aside: its first physical line is one quarantined row ("unbalanced quote in field X")
    and reading resumes at the next physical line, which is read as a record like any other. A
    record longer than MAX_RECORD_CHARS is quarantined the same way. Good rows are never lost.
    """
    with (
        open(path, "rb") as binary,
        io.TextIOWrapper(binary, encoding=_DECODE_AS[encoding], newline="") as text,
    ):
        lines = _Lines(text)
        reader = csv.reader(lines, strict=True)
        try:
            header = next(reader, None)
        except (csv.Error, _TooLarge):
            raise ArchiveError(path, "row 1 (the header row) is not valid CSV: unbalanced quote") from None
        if header is None or _is_blank(header):
            raise ArchiveError(path, "row 1 must be the header row, found an empty row")
        columns, extra, index = _map_header(path, source, header)
        info = FileInfo(path, "csv", encoding, columns, extra, source=source)
        width = len(header)
        parse_row = _RowParser(source, index, width, datetime(1899, 12, 30), True)
        bad_row = _CsvBadRow(header, index)
        yield info
        rownum = 1
        while True:
            lines.start()
            too_large = False
            try:
                cells = next(reader)
            except StopIteration:
                break
            except (csv.Error, _TooLarge) as e:
                if not lines.taken:
                    break
                cells, too_large = None, isinstance(e, _TooLarge)
            taken = lines.taken
            if cells is not None and len(taken) > 1:
                # a quoted field spanning lines: real only if it ends in a complete record and no
                # line it swallowed is a complete record of its own (a stray quote's signature)
                if not _complete(cells, width) or any(_single_line_record(t, width) for _, t, _ in taken[1:]):
                    cells = None
            rownum += 1
            if cells is None:
                lines.give_back(taken[1:])
                info.rows += 1
                yield bad_row(rownum, taken[0], too_large)
                continue
            if not cells or _is_blank(cells):
                info.blank_rows += 1
                continue
            info.rows += 1
            yield parse_row(rownum, cells)


# --------------------------------------------------------------------------------------------- XLSX


def _xlsx_rows(path: Path, source: str) -> Iterator[FileInfo | RowResult]:
    import openpyxl

    binary = open(path, "rb")  # a file object: openpyxl would judge a path by its extension
    try:
        wb = openpyxl.load_workbook(binary, read_only=True, data_only=True)
    except Exception as e:  # zip/XML errors of every kind
        binary.close()
        raise ArchiveError(path, f"not a readable XLSX workbook: {e}") from None
    try:
        if not wb.worksheets:
            raise ArchiveError(path, "workbook has no worksheet")
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # trust the cells, not a writer's <dimension> element
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or _is_blank(header):
            raise ArchiveError(path, f"sheet '{ws.title}': row 1 must be the header row, found an empty row")
        columns, extra, index = _map_header(path, source, list(header))
        info = FileInfo(
            path,
            "xlsx",
            None,
            columns,
            extra,
            source=source,
            sheet=ws.title,
            ignored_sheets=[s.title for s in wb.worksheets[1:]],
        )
        parse_row = _RowParser(source, index, len(header), wb.epoch, False)
        yield info
        rownum = 1
        for cells in rows:
            rownum += 1
            if _is_blank(cells):
                info.blank_rows += 1
                continue
            info.rows += 1
            yield parse_row(rownum, cells)
    finally:
        wb.close()
        binary.close()


# --------------------------------------------------------------------------------------------- API


def open_archive(path: Path, source: str) -> tuple[FileInfo, Iterator[RowResult]]:
    """Check an archive export and return its FileInfo and a stream of its data rows.

    File-level problems (unreadable, undecodable, missing required columns) raise ArchiveError here,
    before any row. Close the iterator (or exhaust it) to release the file.
    """
    path = Path(path)
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
    except OSError as e:
        raise ArchiveError(path, f"cannot open: {e.strerror or e}") from None
    if not magic:
        raise ArchiveError(path, "empty file")
    if magic == XLS_MAGIC:
        raise ArchiveError(path, "legacy .xls workbook is not supported: save it as .xlsx or CSV")
    if magic.startswith(XLSX_MAGIC):
        gen = _xlsx_rows(path, source)
    else:
        gen = _csv_rows(path, source, detect_encoding(path))
    info = next(gen)
    assert isinstance(info, FileInfo)
    return info, gen  # type: ignore[return-value]


def quarantine_row(file: str, res: RowResult) -> dict[str, Any]:
    """One quarantine entry per bad row: fields and reasons joined by '; ' in the same order.

    ``raw`` is the JSON of the row's original cells by English key, personal fields removed, and
    in every other cell (and in the reasons) personal data masked by `minhu.pii.mask`: the row's
    own name, address, phone and payee wherever they appear, and any phone, ID or door number.
    A cell shifted into the wrong column, or a name in a free-text cell, therefore never shows.
    """
    if not res.errors:
        raise ValueError(f"{file} row {res.row}: row has no errors")

    def scrub(text: str) -> str:
        for value in secrets:
            text = text.replace(value, pii.NAME_MASK)
        return pii.mask(text, name, address) or ""

    name, address = res.raw.get("citizen_name"), res.raw.get("address")
    secrets = sorted(
        {v.strip() for k, v in res.raw.items() if k in _PERSONAL_VALUES and v and len(v.strip()) >= 2},
        key=len,
        reverse=True,
    )
    raw = {
        k: (scrub(v) if k not in _KEYS else _scrub_key(v, secrets))
        for k, v in res.raw.items()
        if k not in _PERSONAL
    }
    return {
        "file": file,
        "row": res.row,
        "field": "; ".join(k for k, _ in res.errors),
        "reason": "; ".join(scrub(r) for _, r in res.errors),
        "raw": json.dumps(raw, ensure_ascii=False),
    }


_PERSONAL = frozenset(f.key for spec in SOURCES.values() for f in spec["fields"] if f.personal)
# record keys (case_id, payment_id, budget codes) are how a quarantined row is found again: masked
# only when the whole cell is a personal value or a phone / ID number, never for a digit run inside
_KEYS = frozenset(k for spec in SOURCES.values() for k in spec["id"])
_WHOLE = tuple(re.compile(p) for p in (pii.ID_NUMBER, pii.MOBILE, pii.LANDLINE))


def _scrub_key(value: str, secrets: list[str]) -> str:
    v = value.strip()
    if v in secrets or any(r.fullmatch(v) for r in _WHOLE):
        return pii.NAME_MASK
    return value


# personal fields whose value is a token (a name, a phone, an address, a payee), searched for in
# the other cells; free-text personal fields (content) are only dropped
_PERSONAL_VALUES = frozenset(
    f.key for spec in SOURCES.values() for f in spec["fields"] if f.personal and f.type != "text"
)
