"""The XLSX reader of archive exports: the first worksheet, streamed with openpyxl ``read_only``
(rules in `extract.files`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .rows import ArchiveError, FileInfo, RowParser, RowResult, is_blank, map_header


def xlsx_rows(path: Path, source: str) -> Iterator[FileInfo | RowResult]:
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
        if header is None or is_blank(header):
            raise ArchiveError(path, f"sheet '{ws.title}': row 1 must be the header row, found an empty row")
        columns, extra, index = map_header(path, source, list(header))
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
        parse_row = RowParser(source, index, len(header), wb.epoch, False)
        yield info
        rownum = 1
        for cells in rows:
            rownum += 1
            if is_blank(cells):
                info.blank_rows += 1
                continue
            info.rows += 1
            yield parse_row(rownum, cells)
    finally:
        wb.close()
        binary.close()
