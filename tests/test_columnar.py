"""The columnar CSV path (extract/columnar.py) against the strict Python reader (extract/files.py).

Both readers run on the same files; the Python reader is the contract, so every row number,
record (as its records.jsonl bytes), reason and raw cell must be the same, and landing a file
through either gives the same records.jsonl hash and the same quarantine file.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from bench.bench_import import write_case_csv
from extract import columnar, files
from extract.imports import land_file
from extract.rows import RowResult
from minhu.schemas import fields

pytestmark = pytest.mark.unit


def _stream(rows: list[RowResult]) -> list[tuple]:
    """What a landing makes of the rows, in order: a records.jsonl line, or (row, errors, raw)."""
    out: list[tuple] = []
    for res in rows:
        if res.errors:
            out.append((res.row, res.errors, res.raw))
        elif res.line is not None:
            out.extend((line,) for line in res.line.decode().splitlines(keepends=True))
        else:
            out.append((json.dumps(res.record, ensure_ascii=False, sort_keys=True) + "\n",))
    return out


def _both(path: Path, source: str, workdir: Path):
    opened = columnar.open_columnar(path, source, workdir)
    assert opened is not None, "the columnar path gave up on a file it should read"
    info_c, rows_c = opened
    got = list(rows_c)
    info_p, rows_p = files.open_archive(path, source)
    want = list(rows_p)
    return (info_c, got), (info_p, want)


def _land_both(path: Path, tmp_path: Path, monkeypatch):
    """The landings of one file by the columnar path and by the Python reader, each in its own home."""
    landings = {}
    for reader in ("columnar", "python"):
        monkeypatch.setenv("MINHU_HOME", str(tmp_path / reader))
        monkeypatch.setenv("MINHU_IMPORT_READER", reader)
        landings[reader] = land_file(path, "cases")
    return landings["columnar"], landings["python"]


def _assert_same(path: Path, source: str, workdir: Path) -> tuple[int, int]:
    """(rows the SQL fast path made, rows the Python reader quarantined) once both agree."""
    (info_c, got), (info_p, want) = _both(path, source, workdir)
    assert _stream(got) == _stream(want)
    for attr in ("rows", "blank_rows", "encoding", "columns", "extra_columns", "format"):
        assert getattr(info_c, attr) == getattr(info_p, attr), attr
    fast = sum(r.count for r in got if r.line is not None)
    return fast, sum(1 for r in want if r.errors)


# cell variants per field type: value forms the SQL fast path takes, rarer forms it must hand to
# the Python parser, and bad values of every reason
VARIANTS = {
    "datetime": [
        "2023-03-01 09:15:00",
        "2023-03-01T09:15:00",
        "2023-03-01T09:15:00+08:00",
        "2023/3/1 9:15",
        "2023-03-01 09:15:00Z",
        "2023-03-01 09:15:00.5",
        "2023-02-30 09:00:00",
        "2023-03-01 24:00:00",
        "2023-03-01",
        "昨天",
        " 2023-03-01 09:15:00 ",
        "\u30002023-03-01 09:15:00",
    ],
    "int": ["0", "3", "+2", "-0", "007", "3.0", "1,000", "3.5", "abc", "99999999999999999999"],
    "bool": ["是", "否", "Y", "n", "TRUE", "false", "1", "0.0", "也许"],
    "decimal": ["0", "12.3", "-0.5", "-0", "1,234.50", "1.500", "1.234", "007.5", ".5", "5.", "abc", "1e3"],
    "string": ["G0012", "a,b", 'say "hi"', "back\\slash", "tab\there", " padded ", "", "汉正街道"],
}


def _cell(f, rng: random.Random, good: dict[str, str]) -> str:
    r = rng.random()
    if r < 0.97:
        return good[f.key]
    if f.type == "enum":
        return rng.choice([*(f.values or ()), "微信", "", " 12345热线"])
    pool = VARIANTS.get(f.type) or VARIANTS["string"]
    return rng.choice([*pool, ""])


def _write_mixed(
    path: Path, source: str, rows: int, encoding: str, good: dict[str, str], seed: int = 7
) -> None:
    rng = random.Random(seed)
    flds = fields(source)
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f.header for f in flds] + ["备注"])
        for i in range(rows):
            r = rng.random()
            if r < 0.01:
                fh.write("\r\n")  # a blank line
            elif r < 0.02:
                fh.write("," * len(flds) + "\r\n")  # a row of empty cells: blank too
            elif r < 0.025:
                fh.write(" , ,\u3000\r\n")  # short and blank
            elif r < 0.03:
                fh.write(",".join(good[f.key] for f in flds[:5]) + "\r\n")  # a short row
            else:
                cells = [_cell(f, rng, good) for f in flds]
                w.writerow([*cells, f"note {i}" if rng.random() < 0.5 else ""])


CASE = {
    **{f.key: "" for f in fields("cases")},
    "case_id": "QK001",
    "channel": "12345热线",
    "case_type": "投诉",
    "category": "城市管理/市容环境/占道经营",
    "content": "李四反映占道经营，电话13912345678",
    "street": "汉正街道",
    "grid_id": "G0012",
    "received_at": "2023-03-01 09:15:00",
    "dispatched_at": "2023-03-01 10:00:00",
    "due_at": "2023-03-15 23:59:59",
    "status": "已派单",
    "urge_count": "1",
    "is_business_env": "否",
    "citizen_name": "李四",
    "citizen_phone": "13912345678",
    "address": "汉正街88号",
    "updated_at": "2023-03-02 09:15:00",
}
BUDGET = {
    **{f.key: "" for f in fields("budget_lines")},
    "fiscal_year": "2024",
    "dept_code": "101",
    "unit_code": "101001",
    "function_code": "2010301",
    "economic_code": "30101",
    "expense_type": "人员经费",
    "fund_source": "一般公共预算",
    "initial_amount": "1327790.00",
    "adjusted_amount": "1327790.5",
    "updated_at": "2024-01-05 10:00:00",
}


@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-8-sig"])
def test_mixed_case_file_reads_as_the_python_reader_reads_it(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "cases.csv"
    _write_mixed(path, "cases", 3000, encoding, CASE)
    fast, bad = _assert_same(path, "cases", tmp_path)
    assert fast > 1000 and bad > 100  # both paths of the columnar reader are exercised


def test_mixed_budget_file_with_amounts_reads_as_the_python_reader_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "budget.csv"
    _write_mixed(path, "budget_lines", 3000, "gbk", BUDGET, seed=11)
    fast, bad = _assert_same(path, "budget_lines", tmp_path)
    assert fast > 500 and bad > 100


def test_bench_file_accounting_and_quarantine_match_the_python_reader(tmp_path: Path, monkeypatch) -> None:
    """5k rows of the benchmark's generator: landing by both readers is byte-identical."""
    path = tmp_path / "工单导出.csv"
    expected = write_case_csv(path, 5000)
    fast, bad = _assert_same(path, "cases", tmp_path)
    assert bad == expected["quarantined"]
    assert fast == expected["rows"] - expected["quarantined"]

    c, p = _land_both(path, tmp_path, monkeypatch)
    assert (c.rows, c.blank_rows, c.records, c.invalid) == (p.rows, p.blank_rows, p.records, p.invalid)
    assert c.records == expected["rows"] - expected["quarantined"]
    assert c.records_sha256 == p.records_sha256
    assert Path(c.records_path).read_bytes() == Path(p.records_path).read_bytes()
    assert Path(c.quarantine_path).read_bytes() == Path(p.quarantine_path).read_bytes()


def _lines_of_40(tmp_path: Path, bad: dict[int, str]) -> Path:
    path = tmp_path / "f.csv"
    flds = fields("cases")
    with open(path, "w", encoding="gbk", newline="") as fh:
        fh.write(",".join(f.header for f in flds) + "\r\n")
        for row in range(2, 42):
            line = ",".join({**CASE, "case_id": f"QK{row:03d}"}[f.key] for f in flds)
            fh.write(bad.get(row, line) + "\r\n")
    return path


@pytest.mark.parametrize(
    "bad",
    [
        '"QK021,12345热线,投诉',  # a stray quote: the Python reader resumes at the next line
        'QK021,"12345热线"x,投诉',  # text after a closing quote
        'QK021,"line one\r\nline two",投诉',  # a quoted field across lines
        "QK021,12345热线,投诉" + ",x" * 30,  # cells beyond the header
        "QK021,\x00,投诉",
        'QK021,12"345,热"线',  # quotes inside unquoted fields: literal to Python
    ],
)
def test_files_the_python_reader_treats_specially_are_left_to_it(
    tmp_path: Path, monkeypatch, bad: str
) -> None:
    path = _lines_of_40(tmp_path, {21: bad})
    assert columnar.open_columnar(path, "cases", tmp_path) is None
    assert not (tmp_path / ".columnar.csv").exists()
    c, p = _land_both(path, tmp_path, monkeypatch)
    assert (c.rows, c.records, c.invalid) == (p.rows, p.records, p.invalid)
    assert Path(c.quarantine_path).read_bytes() == Path(p.quarantine_path).read_bytes()


def test_a_stray_quote_on_row_21_still_quarantines_row_21_only(tmp_path: Path, monkeypatch) -> None:
    path = _lines_of_40(tmp_path, {21: '"QK021,12345热线,投诉'})
    monkeypatch.setenv("MINHU_HOME", str(tmp_path / "home"))
    landing = land_file(path, "cases")
    assert (landing.rows, landing.records, landing.invalid) == (40, 39, 1)
    with open(landing.quarantine_path, encoding="utf-8-sig", newline="") as fh:
        (entry,) = list(csv.DictReader(fh))
    assert entry["row"] == "21"


def test_a_5_mb_cell_takes_the_fast_path(tmp_path: Path) -> None:
    path = _lines_of_40(tmp_path, {})
    big = "长" * (5 * 1024 * 1024)
    with open(path, "a", encoding="gbk", newline="") as fh:
        fh.write(
            ",".join({**CASE, "case_id": "QK999", "content": big}[f.key] for f in fields("cases")) + "\r\n"
        )
    fast, bad = _assert_same(path, "cases", tmp_path)
    assert (fast, bad) == (41, 0)
