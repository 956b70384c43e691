"""The strict CSV reader of archive exports: a quoting error never merges rows (rules in
`extract.files`; `csv_rows` says how a bad record is set aside)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from .opening import CHUNK, DECODE_AS
from .rows import ROW_FIELD, ArchiveError, FileInfo, RowParser, RowResult, is_blank, map_header, norm_header

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


def quote_fault(line: str) -> tuple[int, int] | None:
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
    if quote_fault(line) is not None:
        return False
    try:
        cells = next(csv.reader([line], strict=True), [])
    except csv.Error:
        return False
    return _complete(cells, width)


class _CsvBadRow:
    """The quarantine entry of a physical line where CSV quoting breaks (or that is too long)."""

    def __init__(self, header: list[str], index: dict[str, int]):
        self.labels = [norm_header(h) or f"column {i + 1}" for i, h in enumerate(header)]
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
        fault = quote_fault(line)
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


def csv_rows(path: Path, source: str, encoding: str) -> Iterator[FileInfo | RowResult]:
    """CSV rows, strictly: a quoting error never merges rows.

    A record that breaks CSV quoting -- a quote that never closes, text after a closing quote, or
    a quoted field that spans lines and does not end in a record of the header's column count --
    is set aside: its first physical line is one quarantined row ("unbalanced quote in field X")
    and reading resumes at the next physical line, which is read as a record like any other. A
    record longer than MAX_RECORD_CHARS is quarantined the same way. Good rows are never lost.
    """
    with (
        open(path, "rb") as binary,
        io.TextIOWrapper(binary, encoding=DECODE_AS[encoding], newline="") as text,
    ):
        lines = _Lines(text)
        reader = csv.reader(lines, strict=True)
        try:
            header = next(reader, None)
        except (csv.Error, _TooLarge):
            raise ArchiveError(path, "row 1 (the header row) is not valid CSV: unbalanced quote") from None
        if header is None or is_blank(header):
            raise ArchiveError(path, "row 1 must be the header row, found an empty row")
        columns, extra, index = map_header(path, source, header)
        info = FileInfo(path, "csv", encoding, columns, extra, source=source)
        width = len(header)
        parse_row = RowParser(source, index, width, datetime(1899, 12, 30), True)
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
            if not cells or is_blank(cells):
                info.blank_rows += 1
                continue
            info.rows += 1
            yield parse_row(rownum, cells)
