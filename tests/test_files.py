"""Archive export files (extract/files.py): encodings, headers, XLSX cells, value parsing, bad rows."""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from extract.files import open_archive
from extract.quarantine import quarantine_row
from extract.rows import ArchiveError, FileInfo, RowResult
from minhu.schemas import fields

pytestmark = pytest.mark.unit

CASE = {
    "case_id": "QK20240301000123",
    "channel": "12345热线",
    "case_type": "投诉",
    "category": "城市管理/市容环境/占道经营",
    "content": "张三反映占道经营，电话13800138000",
    "district": "硚口区",
    "street": "汉正街道",
    "community": "古田社区",
    "grid_id": "G0012",
    "handling_unit": "区城管执法局",
    "received_at": "2024-03-01 09:15:00",
    "dispatched_at": "2024-03-01 10:00:00",
    "due_at": "2024-03-15 17:30:00",
    "closed_at": "",
    "status": "已派单",
    "urge_count": "2",
    "is_business_env": "是",
    "is_key_supervision": "否",
    "visited_at": "",
    "satisfaction": "",
    "citizen_name": "张三",
    "citizen_phone": "13800138000",
    "address": "汉正街1号",
    "updated_at": "2024-03-01 10:00:00",
}

# the record as the reader types it: text fields as sent, times with their +08:00, blanks as None
EXPECTED = {
    **CASE,
    "received_at": "2024-03-01T09:15:00+08:00",
    "dispatched_at": "2024-03-01T10:00:00+08:00",
    "due_at": "2024-03-15T17:30:00+08:00",
    "closed_at": None,
    "urge_count": 2,
    "is_business_env": True,
    "is_key_supervision": False,
    "visited_at": None,
    "satisfaction": None,
    "updated_at": "2024-03-01T10:00:00+08:00",
}

HEADER_ZH = {f.key: f.header for f in fields("cases")}


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def case_csv(
    path: Path, rows: list[dict[str, str]], *, english: bool = False, encoding: str = "utf-8"
) -> Path:
    keys = list(CASE)
    header = keys if english else [HEADER_ZH[k] for k in keys]
    return write_csv(path, header, [[r.get(k, "") for k in keys] for r in rows], encoding)


def read_all(path: Path, source: str = "cases") -> tuple[FileInfo, list[RowResult]]:
    info, rows = open_archive(path, source)
    return info, list(rows)


# ------------------------------------------------------------------------------------------ encodings


@pytest.mark.parametrize(
    ("encoding", "reported"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk")]
)
def test_csv_encodings_with_chinese_headers(tmp_path: Path, encoding: str, reported: str) -> None:
    p = case_csv(
        tmp_path / "cases.csv",
        [CASE, {**CASE, "case_id": "QK2", "channel": "区委书记留言板"}],
        encoding=encoding,
    )
    if encoding == "gbk":
        with pytest.raises(UnicodeDecodeError):
            p.read_bytes().decode("utf-8")  # really not UTF-8
    info, rows = read_all(p)
    assert info.format == "csv"
    assert info.encoding == reported
    assert info.columns["工单编号"] == "case_id"  # no BOM left on the first header
    assert info.extra_columns == []
    assert [r.row for r in rows] == [2, 3]
    assert rows[0].errors == []
    assert rows[0].record == EXPECTED
    assert rows[1].record["channel"] == "区委书记留言板"
    assert rows[1].record["case_id"] == "QK2"
    assert info.rows == 2 and info.blank_rows == 0


def test_undecodable_file_names_file_and_offset(tmp_path: Path) -> None:
    p = tmp_path / "broken.csv"
    p.write_bytes("工单编号,来源渠道\r\nQK1,".encode() + b"\xff\xfe\xff\r\n")
    with pytest.raises(ArchiveError) as exc:
        open_archive(p, "cases")
    msg = str(exc.value)
    assert "broken.csv" in msg
    offset = len("工单编号,来源渠道\r\nQK1,".encode())
    assert f"offset {offset}" in msg  # the UTF-8 failure
    assert "GBK" in msg
    assert exc.value.file == str(p)


def test_utf8_error_in_a_later_chunk_falls_back_to_gbk(tmp_path: Path) -> None:
    # A long pure-ASCII prefix, then GBK bytes well past the first validation chunk.
    filler = {**CASE, "content": "x" * 1000, "category": "a", "district": "b"}
    rows = [{**filler, "case_id": f"QK{i}"} for i in range(1500)] + [{**CASE, "case_id": "QKlast"}]
    p = case_csv(tmp_path / "late.csv", rows, english=True, encoding="gbk")
    assert p.stat().st_size > 1 << 20
    info, res = read_all(p)
    assert info.encoding == "gbk"
    assert res[-1].record["district"] == "硚口区"
    assert res[-1].row == 1502


# ------------------------------------------------------------------------------------------ headers


def test_english_shuffled_mixed_headers_and_extra_column(tmp_path: Path) -> None:
    keys = list(CASE)[::-1]
    header = [k if i % 2 else HEADER_ZH[k] for i, k in enumerate(keys)]  # mixed Chinese / English
    header[0] = f"  {header[0]}  "  # whitespace around a name is ignored
    header.insert(3, "备注")
    header.append("Exported By")
    row = [CASE[k] for k in keys]
    row.insert(3, "some note")
    row.append("admin")
    p = write_csv(tmp_path / "mixed.csv", header, [row])
    info, rows = read_all(p)
    assert info.extra_columns == ["备注", "Exported By"]
    assert info.columns[HEADER_ZH[keys[0]]] == keys[0]
    assert info.columns["case_id"] == "case_id" and info.columns["来源渠道"] == "channel"
    assert len(info.columns) == len(CASE)
    assert rows[0].record == EXPECTED
    assert "备注" not in rows[0].raw and "some note" not in rows[0].raw.values()


def test_english_keys_case_insensitive(tmp_path: Path) -> None:
    p = case_csv(tmp_path / "en.csv", [CASE], english=True)
    text = p.read_text(encoding="utf-8").replace("case_id", "CASE_ID", 1)
    p.write_text(text, encoding="utf-8")
    info, rows = read_all(p)
    assert info.columns["CASE_ID"] == "case_id"
    assert rows[0].record == EXPECTED


def test_missing_optional_columns_are_none(tmp_path: Path) -> None:
    keep = ["case_id", "channel", "case_type", "received_at", "status", "updated_at"]
    p = write_csv(tmp_path / "min.csv", keep, [[CASE[k] for k in keep]])
    _, rows = read_all(p)
    rec = rows[0].record
    assert rec["case_id"] == "QK20240301000123"
    assert rec["received_at"] == "2024-03-01T09:15:00+08:00"
    assert rec["content"] is None and rec["urge_count"] is None and rec["is_business_env"] is None
    assert list(rec) == list(CASE)  # every contract key, in contract order


def test_missing_required_column_names_file_and_columns(tmp_path: Path) -> None:
    keep = ["case_id", "case_type", "received_at", "status"]
    p = write_csv(tmp_path / "cases_2023.csv", keep, [[CASE[k] for k in keep]])
    with pytest.raises(ArchiveError) as exc:
        open_archive(p, "cases")
    msg = str(exc.value)
    assert "cases_2023.csv" in msg
    assert "channel (来源渠道)" in msg and "updated_at (更新时间)" in msg
    assert "case_id" not in msg.split("missing", 1)[1]


def test_two_columns_for_one_field_is_an_error(tmp_path: Path) -> None:
    keys = list(CASE)
    p = write_csv(
        tmp_path / "dup.csv", [HEADER_ZH[k] for k in keys] + ["case_id"], [list(CASE.values()) + ["X"]]
    )
    with pytest.raises(ArchiveError, match="both map to field case_id"):
        open_archive(p, "cases")


def test_empty_and_legacy_xls_files_are_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ArchiveError, match="empty.csv: empty file"):
        open_archive(empty, "cases")
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(ArchiveError, match="legacy .xls"):
        open_archive(xls, "cases")
    with pytest.raises(ValueError, match="unknown source"):
        open_archive(empty, "nope")


# ------------------------------------------------------------------------------------------ values


def test_datetime_formats(tmp_path: Path) -> None:
    variants = {
        "2024-03-01 09:15:00": "2024-03-01T09:15:00+08:00",
        "2024-03-01T09:15:00": "2024-03-01T09:15:00+08:00",
        "2024/03/01 09:15": "2024-03-01T09:15:00+08:00",
        "2024/3/1 9:15": "2024-03-01T09:15:00+08:00",
        "2024-03-01 09:15": "2024-03-01T09:15:00+08:00",
        "2024-03-01T09:15:00+08:00": "2024-03-01T09:15:00+08:00",
        "2024-03-01T01:15:00Z": "2024-03-01T09:15:00+08:00",
        "2024-03-01T02:15:00+01:00": "2024-03-01T09:15:00+08:00",
        "2024-02-29T20:15:00-05:00": "2024-03-01T09:15:00+08:00",
        "2024-03-01 09:15:00.250": "2024-03-01T09:15:00.250000+08:00",
    }
    rows = [{**CASE, "case_id": f"QK{i}", "received_at": v} for i, v in enumerate(variants)]
    _, res = read_all(case_csv(tmp_path / "dt.csv", rows))
    assert [r.errors for r in res] == [[]] * len(variants)
    assert [r.record["received_at"] for r in res] == list(variants.values())


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2024-13-01 09:15:00", "unparseable datetime '2024-13-01 09:15:00'"),
        ("2024-02-30 09:15", "unparseable datetime '2024-02-30 09:15'"),
        ("yesterday", "unparseable datetime 'yesterday'"),
        ("2024-03-01", "unparseable datetime '2024-03-01' (a date without a time)"),
        ("2024-03-01 25:00:00", "unparseable datetime '2024-03-01 25:00:00'"),
    ],
)
def test_bad_datetimes(tmp_path: Path, value: str, reason: str) -> None:
    _, res = read_all(case_csv(tmp_path / "bad.csv", [{**CASE, "received_at": value}]))
    assert res[0].record is None
    assert res[0].errors == [("received_at", reason)]


def test_bools_and_ints(tmp_path: Path) -> None:
    cases = [
        ("是", "否", True, False),
        ("true", "FALSE", True, False),
        ("1", "0", True, False),
        ("Y", "n", True, False),
    ]
    rows = [
        {**CASE, "case_id": f"QK{i}", "is_business_env": a, "is_key_supervision": b, "urge_count": "3.0"}
        for i, (a, b, _, _) in enumerate(cases)
    ]
    rows.append({**CASE, "case_id": "QKbad", "is_business_env": "maybe", "urge_count": "1.5"})
    _, res = read_all(case_csv(tmp_path / "b.csv", rows))
    for r, (_, _, a, b) in zip(res, cases, strict=False):
        assert r.record["is_business_env"] is a and r.record["is_key_supervision"] is b
        assert r.record["urge_count"] == 3
    bad = res[-1]
    assert bad.row == 6
    assert [k for k, _ in bad.errors] == ["urge_count", "is_business_env"]
    assert bad.errors[0][1] == "not an integer '1.5'"
    assert bad.errors[1][1].startswith("not a boolean 'maybe'")


BUDGET_HEADER = [f.header for f in fields("budget_lines")]


def budget_row(**over: str) -> list[str]:
    base = {
        "fiscal_year": "2024",
        "dept_code": "118",
        "dept_name": "硚口区社会管理网格化服务中心",
        "unit_code": "118001",
        "unit_name": "硚口区社会管理网格化服务中心本级",
        "project_code": "",
        "project_name": "",
        "function_code": "2010350",
        "function_name": "事业运行",
        "economic_code": "30101",
        "economic_name": "基本工资",
        "expense_type": "人员经费",
        "fund_source": "一般公共预算",
        "initial_amount": "1,327,790.00",
        "adjusted_amount": "1327790",
        "updated_at": "2024-01-05 08:00:00",
    }
    base.update(over)
    return list(base.values())


def test_budget_line_decimals(tmp_path: Path) -> None:
    rows = [
        budget_row(),
        budget_row(initial_amount="0.5", adjusted_amount="-12.30"),
        budget_row(initial_amount="1000.000", adjusted_amount="1,000,000"),
        budget_row(initial_amount="100.005"),
        budget_row(initial_amount="1,23.00", adjusted_amount="abc"),
        budget_row(initial_amount="NaN", adjusted_amount="-0.00"),
    ]
    p = write_csv(tmp_path / "budget.csv", BUDGET_HEADER, rows, encoding="gbk")
    info, res = read_all(p, "budget_lines")
    assert info.encoding == "gbk"
    r0 = res[0].record
    assert r0["initial_amount"] == "1327790.00" and r0["adjusted_amount"] == "1327790.00"
    assert r0["fiscal_year"] == 2024 and r0["function_code"] == "2010350" and r0["project_code"] is None
    assert r0["dept_name"] == "硚口区社会管理网格化服务中心"
    assert (res[1].record["initial_amount"], res[1].record["adjusted_amount"]) == ("0.50", "-12.30")
    assert (res[2].record["initial_amount"], res[2].record["adjusted_amount"]) == ("1000.00", "1000000.00")
    assert res[3].errors == [("initial_amount", "amount '100.005' has more than 2 decimal places")]
    assert res[4].errors == [
        ("initial_amount", "unparseable amount '1,23.00'"),
        ("adjusted_amount", "unparseable amount 'abc'"),
    ]
    assert res[5].errors == [("initial_amount", "unparseable amount 'NaN'")]
    assert [r.row for r in res] == [2, 3, 4, 5, 6, 7]


def test_payments_negative_amounts_dates_and_personal_payee(tmp_path: Path) -> None:
    keys = [f.key for f in fields("payments")]
    base = {
        "payment_id": "ZF2024000001",
        "pay_date": "2024/3/1",
        "fiscal_year": "2024",
        "unit_code": "118001",
        "project_code": "118001240001",
        "function_code": "2010350",
        "economic_code": "30201",
        "fund_source": "一般公共预算",
        "expense_type": "公用经费",
        "amount": "-1,200.50",
        "payee": "李四",
        "summary": "办公用品退款",
        "updated_at": "2024-03-01T10:00:00+08:00",
    }
    rows = [
        base,
        {**base, "payment_id": "ZF2", "pay_date": "2024-03-02", "amount": "88"},
        {**base, "payment_id": "ZF3", "pay_date": "2024-02-30", "expense_type": "其他"},
    ]
    p = write_csv(tmp_path / "pay.csv", keys, [[r[k] for k in keys] for r in rows])
    _, res = read_all(p, "payments")
    assert res[0].record["amount"] == "-1200.50"
    assert res[0].record["pay_date"] == "2024-03-01"
    assert res[0].record["fiscal_year"] == 2024
    assert res[0].record["updated_at"] == "2024-03-01T10:00:00+08:00"
    assert res[1].record["amount"] == "88.00" and res[1].record["pay_date"] == "2024-03-02"
    assert res[2].errors == [
        ("pay_date", "unparseable date '2024-02-30'"),
        ("expense_type", "unknown expense_type '其他'"),
    ]
    q = quarantine_row("pay.csv", res[2])
    assert q["field"] == "pay_date; expense_type"
    assert "李四" not in q["raw"] and "payee" not in json.loads(q["raw"])
    assert json.loads(q["raw"])["summary"] == "办公用品退款"


# ------------------------------------------------------------------------------------------ bad rows


def test_bad_rows_are_reported_and_good_rows_kept(tmp_path: Path) -> None:
    rows = [
        {**CASE, "case_id": "QK1"},
        {**CASE, "case_id": "QK2", "received_at": "2024-13-01"},
        {**CASE, "case_id": "QK3", "channel": "xx"},
        {**CASE, "case_id": "QK4"},
        {**CASE, "case_id": "   "},
        {**CASE, "case_id": "QK6", "channel": "xx", "status": ""},
        {**CASE, "case_id": "QK7"},
    ]
    p = case_csv(tmp_path / "export.csv", rows)
    info, res = read_all(p)
    assert info.rows == 7
    good = [r for r in res if not r.errors]
    assert [r.record["case_id"] for r in good] == ["QK1", "QK4", "QK7"]
    assert all(r.record is not None for r in good)
    bad = {r.row: r for r in res if r.errors}
    assert sorted(bad) == [3, 4, 6, 7]
    assert bad[3].errors == [("received_at", "unparseable datetime '2024-13-01'")]
    assert bad[4].errors == [("channel", "unknown channel 'xx'")]
    assert bad[6].errors == [("case_id", "required field is blank")]
    assert bad[7].errors == [("channel", "unknown channel 'xx'"), ("status", "required field is blank")]
    assert all(r.record is None for r in bad.values())

    q = quarantine_row("export.csv", bad[7])
    assert q["file"] == "export.csv" and q["row"] == 7
    assert q["field"] == "channel; status"
    assert q["reason"] == "unknown channel 'xx'; required field is blank"
    raw = json.loads(q["raw"])
    assert raw["case_id"] == "QK6" and raw["channel"] == "xx" and raw["received_at"] == "2024-03-01 09:15:00"
    for personal in ("content", "citizen_name", "citizen_phone", "address"):
        assert personal not in raw
    assert "13800138000" not in q["raw"] and "张三" not in q["raw"]
    assert bad[4].raw["citizen_name"] == "张三"  # RowResult.raw itself keeps everything
    with pytest.raises(ValueError):
        quarantine_row("export.csv", good[0])


def test_blank_rows_are_skipped_but_counted_and_numbering_follows_the_file(tmp_path: Path) -> None:
    keys = list(CASE)
    lines = [",".join(HEADER_ZH[k] for k in keys), ",".join(CASE.values())]
    lines += ["", ",,, ,", ",".join({**CASE, "channel": "bad"}.values()), ""]
    p = tmp_path / "blank.csv"
    p.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    info, res = read_all(p)
    assert [r.row for r in res] == [2, 5]
    assert res[1].errors == [("channel", "unknown channel 'bad'")]
    assert info.blank_rows == 3 and info.rows == 2


def test_quoted_multiline_field_counts_as_one_row(tmp_path: Path) -> None:
    rows = [
        {**CASE, "case_id": "QK1", "content": "第一行\n第二行"},
        {**CASE, "case_id": "QK2", "channel": "?"},
    ]
    _, res = read_all(case_csv(tmp_path / "ml.csv", rows))
    assert res[0].record["content"] == "第一行\n第二行"
    assert res[1].row == 3 and res[1].errors == [("channel", "unknown channel '?'")]


def test_cells_beyond_the_header_are_a_row_error(tmp_path: Path) -> None:
    keys = list(CASE)
    p = write_csv(
        tmp_path / "wide.csv", keys, [list(CASE.values()) + ["", " "], list(CASE.values()) + ["shifted"]]
    )
    _, res = read_all(p)
    assert res[0].errors == [] and res[0].record == EXPECTED
    assert res[1].errors == [("_row", "1 non-blank cell(s) beyond the 24 header columns")]


def test_rows_are_streamed(tmp_path: Path) -> None:
    rows = [{**CASE, "case_id": f"QK{i:06d}"} for i in range(20000)]
    p = case_csv(tmp_path / "big.csv", rows)
    tracemalloc.start()
    try:
        info, it = open_archive(p, "cases")
        n = 0
        last = None
        for r in it:
            n += 1
            last = r
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 20000 and last.record["case_id"] == "QK019999" and last.row == 20001
    assert p.stat().st_size > 5_000_000
    assert peak < 3_000_000  # a few rows and the decoder buffers, never the file


# ------------------------------------------------------------------------------------------ XLSX


def test_xlsx_numeric_codes_datetime_cells_and_decimals(tmp_path: Path) -> None:
    p = tmp_path / "budget_export.csv"  # wrong extension on purpose: the magic bytes decide
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet("预算指标")
    wb.add_worksheet("说明")
    dt_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    keys = [f.key for f in fields("budget_lines")]
    ws.write_row(0, 0, [f.header if i % 3 else f.key for i, f in enumerate(fields("budget_lines"))])
    values = {
        "fiscal_year": 2024.0,
        "dept_code": 118,
        "dept_name": "硚口区社会管理网格化服务中心",
        "unit_code": 118001.0,
        "unit_name": " 本级 ",
        "project_code": None,
        "project_name": None,
        "function_code": 2010350.0,
        "function_name": "事业运行",
        "economic_code": "30101",
        "economic_name": "基本工资",
        "expense_type": "人员经费",
        "fund_source": "一般公共预算",
        "initial_amount": 1327790.0,
        "adjusted_amount": 0.1 + 0.2,  # float noise of a formula: 0.30000000000000004
        "updated_at": datetime(2024, 1, 5, 8, 30),
    }
    for c, k in enumerate(keys):
        v = values[k]
        if isinstance(v, datetime):
            ws.write_datetime(1, c, v, dt_fmt)
        elif v is not None:
            ws.write(1, c, v)
    ws.write_row(
        3,
        0,
        [values[k] if k != "updated_at" else "2024-01-06 09:00" for k in keys[:-1]] + ["2024-01-06 09:00"],
    )
    ws.write(3, keys.index("initial_amount"), 12.345)
    wb.close()

    info, res = read_all(p, "budget_lines")
    assert info.format == "xlsx" and info.encoding is None
    assert info.sheet == "预算指标" and info.ignored_sheets == ["说明"]
    assert info.blank_rows == 1  # row 3 of the sheet is empty
    rec = res[0].record
    assert res[0].row == 2 and res[0].errors == []
    assert rec["fiscal_year"] == 2024 and isinstance(rec["fiscal_year"], int)
    assert rec["dept_code"] == "118" and rec["unit_code"] == "118001" and rec["function_code"] == "2010350"
    assert rec["economic_code"] == "30101" and rec["unit_name"] == "本级" and rec["project_code"] is None
    assert rec["initial_amount"] == "1327790.00" and rec["adjusted_amount"] == "0.30"
    assert rec["updated_at"] == "2024-01-05T08:30:00+08:00"
    assert res[1].row == 4
    assert res[1].errors == [("initial_amount", "amount '12.345' has more than 2 decimal places")]
    assert res[1].raw["function_code"] == "2010350" and res[1].raw["updated_at"] == "2024-01-06 09:00"


def test_xlsx_cases_with_openpyxl_bools_and_serial_dates(tmp_path: Path) -> None:
    p = tmp_path / "cases.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    keys = list(CASE)
    ws.append(["导出人"] + [HEADER_ZH[k] for k in keys])
    row = {**CASE}
    cells: list[object] = ["admin"] + [row[k] or None for k in keys]
    cells[1 + keys.index("received_at")] = datetime(2024, 3, 1, 9, 15)
    cells[1 + keys.index("dispatched_at")] = 45352.4375  # Excel serial of 2024-03-01 10:30
    cells[1 + keys.index("urge_count")] = 2.0
    cells[1 + keys.index("is_business_env")] = True
    cells[1 + keys.index("is_key_supervision")] = "否"
    cells[1 + keys.index("citizen_phone")] = 13800138000
    ws.append(cells)
    bad = list(cells)
    bad[1 + keys.index("case_id")] = None
    bad[1 + keys.index("due_at")] = "2024/13/01 10:00"
    ws.append(bad)
    wb.save(p)

    info, res = read_all(p)
    assert info.extra_columns == ["导出人"]
    rec = res[0].record
    assert res[0].errors == []
    assert rec["received_at"] == "2024-03-01T09:15:00+08:00"
    assert rec["dispatched_at"] == "2024-03-01T10:30:00+08:00"
    assert rec["urge_count"] == 2 and rec["is_business_env"] is True and rec["is_key_supervision"] is False
    assert rec["citizen_phone"] == "13800138000"
    assert rec["due_at"] == "2024-03-15T17:30:00+08:00"
    assert res[1].row == 3
    assert res[1].errors == [
        ("case_id", "required field is blank"),
        ("due_at", "unparseable datetime '2024/13/01 10:00'"),
    ]
    q = quarantine_row("cases.xlsx", res[1])
    assert json.loads(q["raw"])["received_at"] == "2024-03-01 09:15:00"
    assert "citizen_phone" not in json.loads(q["raw"])


def test_corrupt_xlsx_is_a_file_error(tmp_path: Path) -> None:
    p = tmp_path / "bad.xlsx"
    p.write_bytes(b"PK\x03\x04" + b"garbage" * 10)
    with pytest.raises(ArchiveError, match="bad.xlsx: not a readable XLSX workbook"):
        open_archive(p, "cases")


# ------------------------------------------------------------------------------------------ strict CSV

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国秀英志强丽娟海燕明华玉兰国庆桂芳春梅德胜"


def person(i: int) -> dict[str, str]:
    """A distinct citizen per row: name, phone and address occur nowhere else in the file."""
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 11 + 3) % len(GIVEN)]
    phone = f"139{i:04d}{(i * 7919) % 10000:04d}"
    address = f"解放大道{100 + i}号{i % 9 + 1}栋"
    return {
        "case_id": f"QK20240301{i:06d}",
        "citizen_name": name,
        "citizen_phone": phone,
        "address": address,
        "content": f"市民{name}（联系电话：{phone}）反映：{address}门前占道经营",
    }


def case_lines(n: int) -> list[list[str]]:
    """n case rows as cells (no cell needs quoting), in CASE's column order."""
    return [list({**CASE, **person(i)}.values()) for i in range(1, n + 1)]


def write_lines(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    header = ",".join(HEADER_ZH[k] for k in CASE)
    path.write_bytes(("\r\n".join([header, *lines]) + "\r\n").encode(encoding))
    return path


CONTENT = list(CASE).index("content")
NAME = list(CASE).index("citizen_name")


def stray(cells: list[str], col: int = CONTENT) -> str:
    """The row with a stray opening quote at the start of one cell."""
    return ",".join(['"' + c if i == col else c for i, c in enumerate(cells)])


def assert_no_personal_data(entries: list[dict], people: list[dict[str, str]]) -> None:
    text = json.dumps(entries, ensure_ascii=False)
    for p in people:
        for key in ("citizen_name", "citizen_phone", "address"):
            assert p[key] not in text, (key, p[key])
    door = re.compile(r"[0-9]+号[0-9]+栋")
    assert not door.search(text)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_a_stray_quote_on_row_21_of_40_quarantines_row_21_only(tmp_path: Path, encoding: str) -> None:
    cells = case_lines(40)
    lines = [",".join(c) for c in cells]
    lines[19] = stray(cells[19])  # data row 20 = file row 21 (the header is row 1)
    info, res = read_all(write_lines(tmp_path / "stray.csv", lines, encoding))
    assert info.encoding == encoding.replace("gbk", "gbk") and info.rows == 40
    good = [r for r in res if r.record is not None]
    bad = [r for r in res if r.record is None]
    assert len(good) == 39 and [r.row for r in bad] == [21]
    assert [r.row for r in good] == [n for n in range(2, 42) if n != 21]
    # every good row is exactly its own line: nothing merged into anything
    for r in good:
        i = r.row - 1
        assert r.record["case_id"] == f"QK20240301{i:06d}"
        assert r.record["content"] == person(i)["content"]
        assert r.record["updated_at"] == "2024-03-01T10:00:00+08:00"
    ((key, reason),) = bad[0].errors
    assert key == "content" and reason.startswith("unbalanced quote in field 诉求内容 (content)")
    entry = quarantine_row("stray.csv", bad[0])
    assert entry["row"] == 21 and entry["field"] == "content"
    raw = json.loads(entry["raw"])
    assert raw["case_id"] == "QK20240301000020" and raw["channel"] == "12345热线"
    assert "_unread" in raw and "updated_at" not in raw  # nothing after the fault is shown
    assert_no_personal_data([entry], [person(i) for i in range(1, 41)])


def test_several_stray_quotes_legit_quoted_fields_and_text_after_a_closing_quote(tmp_path: Path) -> None:
    cells = case_lines(40)
    lines = [",".join(c) for c in cells]
    for i in (4, 5, 19, 32):  # file rows 6, 7, 21, 34
        lines[i] = stray(cells[i])
    lines[9] = stray(cells[9], NAME)  # row 11: the quote in a personal field
    # row 14: a real quoted field with a line break, commas and quotes
    legit = dict(zip(CASE, cells[12], strict=True))
    legit["content"] = '反映："占道经营",\r\n第二行, 还有逗号'
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(list(legit.values()))
    lines[12] = buf.getvalue().removesuffix("\r\n")
    # row 27 (line 28: row 14 has two lines): text after a closing quote
    lines[25] = lines[25].replace(CASE["category"], '"城市管理"/市容', 1)
    _, res = read_all(write_lines(tmp_path / "several.csv", lines, "gbk"))
    bad = {r.row: r for r in res if r.record is None}
    assert sorted(bad) == [6, 7, 11, 21, 27, 34]
    assert bad[11].errors[0][0] == "citizen_name"
    assert bad[27].errors[0] == (
        "category",
        "unbalanced quote in field 诉求分类 (category) (line 28 of the file); the row is not loaded,"
        " reading resumed at the next line",
    )
    good = {r.row: r.record for r in res if r.record is not None}
    assert len(good) == 34 and good[14]["content"] == legit["content"].strip()
    assert all(good[n]["case_id"] == f"QK20240301{n - 1:06d}" for n in good)
    assert_no_personal_data(
        [quarantine_row("several.csv", r) for r in bad.values()], [person(i) for i in range(1, 41)]
    )


def test_a_quote_in_the_last_row(tmp_path: Path) -> None:
    cells = case_lines(10)
    lines = [",".join(c) for c in cells]
    lines[-1] = stray(cells[-1], len(CASE) - 1)  # in updated_at, the last column
    _, res = read_all(write_lines(tmp_path / "last.csv", lines))
    assert [r.row for r in res if r.record is None] == [11]
    assert len([r for r in res if r.record is not None]) == 9
    assert res[-1].errors[0][0] == "updated_at"


def test_a_stray_quote_swallowing_a_record_of_the_right_width_is_still_caught(tmp_path: Path) -> None:
    """A stray quote closed by a later quote can give a record of exactly the header's width; the
    lines it swallowed are complete records of their own, so it is a stray quote, not a field."""
    cells = case_lines(6)
    lines = [",".join(c) for c in cells]
    width = len(CASE)
    lines[1] = ",".join(cells[1][:CONTENT]) + ',"' + "x"  # the quote opens in content
    lines[3] = 'y",' + ",".join(cells[3][CONTENT + 1 :])  # ... and closes here, width cells in all
    merged = next(csv.reader(io.StringIO("\r\n".join(lines[1:4]) + "\r\n")))
    assert len(merged) == width  # the trap is real
    _, res = read_all(write_lines(tmp_path / "trap.csv", lines))
    bad = [r.row for r in res if r.record is None]
    assert 3 in bad and [r.row for r in res if r.record is not None] == [2, 4, 6, 7]


def test_a_5_mb_cell_loads_in_utf8_and_gbk(tmp_path: Path) -> None:
    big = ("楼道杂物堆放，" * 250_000 + "\n") * 3  # 5.25 MB in UTF-8, 3.5 MB in GBK, 3 line breaks
    rows = [
        {**CASE, "case_id": "QK1"},
        {**CASE, "case_id": "QK2", "content": big},
        {**CASE, "case_id": "QK3"},
    ]
    for encoding in ("utf-8", "gbk"):
        p = case_csv(tmp_path / f"big-{encoding}.csv", rows, encoding=encoding)
        assert p.stat().st_size > 3_400_000
        _, res = read_all(p)
        assert [r.errors for r in res] == [[], [], []]
        assert res[1].record["content"] == big.strip() and res[2].row == 4


def test_a_row_longer_than_the_limit_is_quarantined_alone(tmp_path: Path, monkeypatch) -> None:
    import extract.strict_csv as strict_csv

    monkeypatch.setattr(strict_csv, "MAX_RECORD_CHARS", 20_000)
    cells = case_lines(8)
    lines = [",".join(c) for c in cells]
    lines[2] = lines[2].replace(CASE["category"], "长" * 30_000, 1)  # row 4: one unquoted long line
    long_quoted = dict(zip(CASE, cells[5], strict=True))
    long_quoted["content"] = "很长的内容\n" * 5_000  # row 7: a quoted field over many lines
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(list(long_quoted.values()))
    lines[5] = buf.getvalue().removesuffix("\r\n")
    _, res = read_all(write_lines(tmp_path / "long.csv", lines))
    bad = {r.row: r.errors for r in res if r.record is None}
    assert bad[4][0][1].startswith("row longer than 20,000 characters")
    assert "no closing quote within 20,000 characters" in bad[7][0][1]
    # every other good row loads; the 5,000 lines of row 7's field are read as rows of their own
    # and quarantined (never merged into a row, never lost: rows = good + bad)
    good = [r.record["case_id"] for r in res if r.record is not None]
    assert good == [f"QK20240301{i:06d}" for i in (1, 2, 4, 5, 7, 8)]
    assert len(res) == 6 + len(bad) and len(bad) > 5_000


def test_a_stray_quote_keeps_memory_bounded(tmp_path: Path, monkeypatch) -> None:
    import extract.strict_csv as strict_csv

    monkeypatch.setattr(strict_csv, "MAX_RECORD_CHARS", 200_000)
    cells = case_lines(20_000)
    lines = [",".join(c) for c in cells]
    lines[0] = stray(cells[0])  # swallows everything up to the limit, then is given back
    p = write_lines(tmp_path / "stray-big.csv", lines, "gbk")
    tracemalloc.start()
    try:
        _, it = open_archive(p, "cases")
        counts = {"good": 0, "bad": 0}
        for r in it:
            counts["good" if r.record is not None else "bad"] += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts == {"good": 19_999, "bad": 1}
    assert p.stat().st_size > 4_000_000
    assert peak < 4_000_000  # the limit's worth of lines, never the file


def test_quarantine_masks_personal_data_in_every_cell(tmp_path: Path) -> None:
    """Cells shifted into the wrong column and free-text cells: name, phone and address masked."""
    p1, p2 = person(1), person(2)
    shifted = {
        **CASE,
        **p1,
        "category": p1["citizen_phone"],
        "grid_id": p1["address"],
        "channel": p1["citizen_name"],
    }
    other = {**CASE, **p2, "handling_unit": f"{p2['content']} 另见{p1['address']}", "status": "??"}
    _, res = read_all(case_csv(tmp_path / "shift.csv", [shifted, other]))
    entries = [quarantine_row("shift.csv", r) for r in res]
    assert all(r.record is None for r in res)
    assert_no_personal_data(entries, [p1, p2])
    assert "[电话]" in entries[0]["raw"] or "**" in entries[0]["raw"]


def test_quarantine_keeps_long_record_keys_but_not_a_phone_in_their_place(tmp_path: Path) -> None:
    rows = [
        {**CASE, "case_id": "2024030100000123", "channel": "?"},  # 16 digits: kept whole
        {**CASE, "case_id": "13912345678", "channel": "?"},  # a phone in the id column: masked
    ]
    _, res = read_all(case_csv(tmp_path / "keys.csv", rows))
    raws = [json.loads(quarantine_row("keys.csv", r)["raw"]) for r in res]
    assert raws[0]["case_id"] == "2024030100000123"
    assert raws[1]["case_id"] == "**"
