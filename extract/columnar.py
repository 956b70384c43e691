"""The columnar fast path of CSV archive imports: DuckDB parses, types and validates in bulk.

`open_columnar(path, source, workdir)` returns the same ``(FileInfo, rows)`` as
`extract.files.open_archive` -- or None, and then the caller uses the strict Python reader, whose
behaviour is the contract. It gives exactly what the Python reader would give:

1. The file is transcoded line by line to UTF-8 in ``workdir`` with its row number (header = row 1)
   prepended to every line; blank lines are skipped and counted as the Python reader counts them.
   Any line the Python reader treats specially -- a quoting fault or a quoted field that spans
   lines (`strict_csv.quote_fault`), a NUL, a line over MAX_RECORD_CHARS, more cells than the header
   -- and any decoding problem or unusual header make it give up (None) before any row is read.
2. DuckDB ``read_csv`` (``strict_mode``, ``all_varchar``, no sniffing) reads the transcoded file;
   SQL strips every cell as Python's ``str.strip`` does and checks every value against a *fast
   form* that the Python parser maps to one known canonical value (``YYYY-MM-DD HH:MM:SS``,
   ``-?\\d+``, ``-?\\d+(.\\d{1,2})?``, an enum member, ...). A row whose every field is in fast
   form gets its JSON line (same bytes as ``json.dumps(record, ensure_ascii=False,
   sort_keys=True)``) built in SQL; every other row -- a bad row, or a value in a rarer form --
   is handed, as its cells, to the Python `RowParser`, so its record or its reasons are the
   Python reader's own.
3. If DuckDB rejects any line (it should not, after step 1) `Fallback` is raised at the end of
   the stream: the caller discards what it wrote and lands the file with the Python reader.

Memory: the transcoded file is on disk; DuckDB streams it under a memory limit; Python holds one
batch of result rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb

from minhu.schemas import Field, fields

from . import opening, strict_csv, values
from .rows import ArchiveError, FileInfo, RowParser, RowResult, is_blank, map_header

MEMORY_LIMIT = "256MB"
MAX_LINE = 16 * 1024 * 1024 - 1  # imports.MAX_RECORD_BYTES: a longer line goes to the Python path
BATCH = 4096
# Python's str.strip() set: every code point for which str.isspace() is true
_WS = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())


# a line whose every quote belongs to a field that starts with one (a quote inside an unquoted
# field is literal to Python's csv; DuckDB is not asked to agree)
_FIELD = r'(?:"(?:[^"]|"")*"|[^,"]*)'
_CLEAN_QUOTES = re.compile(rf"{_FIELD}(?:,{_FIELD})*").fullmatch


class Fallback(Exception):
    """DuckDB did not read the file as the Python reader would: land it with the Python reader."""


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


_DATE_RE = r"[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_DT_RE = _DATE_RE + r"[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\+08:00)?"
_INT_RE = r"[+-]?[0-9]{1,18}"
_DEC_RE = r"-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?"


def _fast(f: Field, s: str) -> tuple[str, str]:
    """(ok, json) SQL of one field whose stripped cell (NULL when blank) is the expression s."""
    blank_ok = "false" if f.required else "true"
    t = f.type
    if t in ("string", "text", "enum"):
        if t == "enum":
            if not f.values:
                return "false", "null"
            ok = f"{s} in ({', '.join(_lit(v) for v in f.values)})"
        else:
            ok = "true"
        js = f"""'"' || {s} || '"'"""  # no quote, backslash or control character: see _transcode
    elif t == "datetime":
        ok = f"regexp_full_match({s}, '{_DT_RE}') and try_cast(substr({s}, 1, 10) as date) is not null"
        js = f"""'"' || substr({s}, 1, 10) || 'T' || substr({s}, 12, 8) || '+08:00"'"""
    elif t == "date":
        ok = f"regexp_full_match({s}, '{_DATE_RE}') and try_cast({s} as date) is not null"
        js = f"""'"' || {s} || '"'"""
    elif t == "int":
        ok = f"regexp_full_match({s}, '{_INT_RE}')"
        js = f"cast({s} as bigint)::varchar"
    elif t == "bool":
        true = ", ".join(_lit(v) for v in sorted(values.TRUE_WORDS))
        false = ", ".join(_lit(v) for v in sorted(values.FALSE_WORDS))
        ok = f"lower({s}) in ({true}, {false})"
        js = f"case when lower({s}) in ({true}) then 'true' when {s} is not null then 'false' end"
    elif t == "decimal":
        ok = f"regexp_full_match({s}, '{_DEC_RE}')"
        js = f"""'"' || cast({s} as decimal(18, 2))::varchar || '"'"""
    else:
        return "false", "null"
    if t in ("string", "text"):
        ok = "true"  # control characters and strippable cells are flagged in _transcode
    return f"({s} is null and {blank_ok} or {s} is not null and coalesce({ok}, false))", (
        f"coalesce({js}, 'null')"
    )


def _sql(source: str, index: dict[str, int], width: int, csv_path: Path, longest: int) -> str:
    """Rows with r > 0 have no cell to strip; r < 0 marks a line for the Python parser (row -r)."""
    cols = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    oks, parts = [], []
    for f in sorted(fields(source), key=lambda f: f.key):
        if f.key in index:
            ok, js = _fast(f, f"c{index[f.key]}")
            oks.append(ok)
        else:
            js = "'null'"
        parts.append(f"{_lit(json.dumps(f.key) + ': ')}, {js}")
    line = ", ', ', ".join(parts)
    cells = ", ".join(f"coalesce(c{i}, '')" for i in range(width))
    # DuckDB's defaults (2 MB lines, buffers of 16 lines) unless a line may be longer: 4 bytes a
    # character at most, plus the row number
    max_line = 4 * longest + 32
    sizes = f"max_line_size = {max_line}, buffer_size = {2 * max_line}," if max_line > 2_000_000 else ""
    return f"""
        with src as (
            select *, r > 0 and {" and ".join(oks) or "true"} as ok
            from read_csv({_lit(str(csv_path))}, auto_detect = false, header = false, delim = ',',
                quote = '"', escape = '"', new_line = '\\n', strict_mode = true, null_padding = true,
                store_rejects = true, {sizes}
                columns = {{'r': 'BIGINT', {cols}}})
        ),
        lined as (
            select r, case when ok then concat('{{', {line}, '}}', chr(10)) end as line, * exclude (r, ok) from src
        )
        select abs(r), case when strlen(line) <= {MAX_LINE} then line end,
            case when line is null or strlen(line) > {MAX_LINE} then [{cells}] end
        from lined
        """


def _transcode(text: io.TextIOBase, out: io.TextIOBase, width: int) -> tuple[int, int, int] | None:
    """Write the data lines as ``rownum,line``; (data lines, blank lines, longest line in
    characters) or None to give up."""
    limit = strict_csv.MAX_RECORD_CHARS
    fault = strict_csv.quote_fault
    readline = text.readline
    write = out.write
    rownum = 1
    data = blank = longest = 0
    while line := readline(limit + 1):
        rownum += 1
        if len(line) > limit or "\x00" in line:
            return None
        body = line.rstrip("\r\n")
        if not body.strip():
            blank += 1
            continue
        if '"' in body:
            if fault(body) is not None or not _CLEAN_QUOTES(body):
                return None
        elif body.count(",") >= width:
            return None  # cells beyond the header: the Python reader says which
        if (  # a cell to strip, a control character (JSON escapes it), a blank row of commas
            not body.isprintable()  # every whitespace but the space is a separator or control
            or body[0] == " "
            or body[-1] == " "
            or " ," in body
            or ", " in body
            or ' "' in body
            or '" ' in body
            or not body.strip(',"')
            or "\\" in body  # JSON escapes: strings are quoted as they are in SQL
            or '""' in body
        ):
            write(f"-{rownum},{body}\n")
        else:
            write(f"{rownum},{body}\n")
        data += 1
        if len(body) > longest:
            longest = len(body)
    return data, blank, longest


def _detect(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(opening.CHUNK)
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"  # validated by the transcoding's strict decode
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not a character cut by the chunk's end: not UTF-8
            return "gbk"  # validated by the transcoding's strict decode
    return opening.detect_encoding(path)


def open_columnar(path: Path, source: str, workdir: Path) -> tuple[FileInfo, Iterator[RowResult]] | None:
    """The fast path (module docstring); None when the file must go through the Python reader."""
    path = Path(path)
    try:
        if opening.sniff(path) != "csv":
            return None
        encoding = _detect(path)
    except ArchiveError:
        return None
    tmp = workdir / ".columnar.csv"
    try:
        with (
            open(path, "rb") as binary,
            io.TextIOWrapper(binary, encoding=opening.DECODE_AS[encoding], newline="") as text,
        ):
            first = text.readline(strict_csv.MAX_RECORD_CHARS + 1)
            head = first.rstrip("\r\n")
            if not head.strip() or len(first) > strict_csv.MAX_RECORD_CHARS or "\x00" in head:
                return None
            if strict_csv.quote_fault(head) is not None:
                return None
            header = next(csv.reader([head], strict=True))
            if is_blank(header):
                return None
            columns, extra, index = map_header(path, source, header)
            with open(tmp, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
                counts = _transcode(text, out, len(header))
    except (UnicodeDecodeError, csv.Error, ArchiveError):
        tmp.unlink(missing_ok=True)
        return None
    if counts is None:
        tmp.unlink(missing_ok=True)
        return None
    info = FileInfo(path, "csv", encoding, columns, extra, source=source)
    info.blank_rows = counts[1]
    return info, _rows(info, source, index, len(header), tmp, workdir, counts[2])


def _rows(
    info: FileInfo,
    source: str,
    index: dict[str, int],
    width: int,
    csv_path: Path,
    workdir: Path,
    longest: int,
) -> Iterator[RowResult]:
    parse_row = RowParser(source, index, width, datetime(1899, 12, 30), True)
    con = duckdb.connect()
    try:
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"set temp_directory = {_lit(str(workdir / '.columnar-tmp'))}")
        con.execute("set preserve_insertion_order = true")
        cur = con.execute(_sql(source, index, width, csv_path, longest))
        while batch := cur.fetchmany(BATCH):
            run: list[str] = []  # consecutive fast rows, yielded as one RowResult
            first = 0
            for r, line, cells in batch:
                if line is not None:
                    info.rows += 1
                    if not run:
                        first = r
                    run.append(line)
                    continue
                if is_blank(cells):
                    info.blank_rows += 1
                    continue
                if run:
                    yield RowResult(first, None, [], {}, "".join(run).encode(), len(run))
                    run = []
                info.rows += 1
                yield parse_row(r, cells)
            if run:
                yield RowResult(first, None, [], {}, "".join(run).encode(), len(run))
        rejects = con.execute("select count(*) from reject_errors").fetchone()[0]
        if rejects:
            raise Fallback(f"{info.path}: DuckDB rejected {rejects} line(s)")
    finally:
        con.close()
        csv_path.unlink(missing_ok=True)
