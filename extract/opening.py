"""Opening an archive file: its format by its first bytes, a CSV's encoding from its bytes (rules
in `extract.files`). Every archive reader (`extract.files`, `extract.published`, `extract.columnar`)
opens a file through `sniff` and `detect_encoding`."""

from __future__ import annotations

import codecs
from pathlib import Path

from .rows import ArchiveError

CHUNK = 1 << 18  # bytes per read of the encoding validation

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sniff(path: Path) -> str:
    """'xlsx' (``PK\\x03\\x04``), 'xls' (OLE2) or 'csv' (anything else) by the first bytes;
    ArchiveError when the file cannot be opened or is empty."""
    try:
        with open(path, "rb") as f:
            magic = f.read(8)
    except OSError as e:
        raise ArchiveError(path, f"cannot open: {e.strerror or e}") from None
    if not magic:
        raise ArchiveError(path, "empty file")
    if magic == XLS_MAGIC:
        return "xls"
    if magic.startswith(XLSX_MAGIC):
        return "xlsx"
    return "csv"


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


DECODE_AS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030"}
