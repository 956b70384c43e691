"""`minhu import`: archive files landed, quarantined, loaded, built, gated and published (real DuckDB/dbt/GX)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from minhu.schemas import fields, keys
from pipeline import imports

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
MINHU = Path(sys.executable).parent / "minhu"


def zh(source: str) -> dict[str, str]:
    return {f.key: f.header for f in fields(source)}


def case(case_id: str, updated_at: str, received: str = "2023-03-01 09:15:00", **over: str) -> dict[str, str]:
    """A case row; dispatch 45 minutes and the due time 14 days after `received`."""
    at = datetime.fromisoformat(received)
    row = {
        "case_id": case_id,
        "channel": "12345热线",
        "case_type": "投诉",
        "category": "城市管理/市容环境/占道经营",
        "content": "李四反映占道经营，电话13912345678",
        "district": "硚口区",
        "street": "汉正街道",
        "community": "古田社区",
        "grid_id": "G0012",
        "handling_unit": "区城管执法局",
        "received_at": received,
        "dispatched_at": f"{at + timedelta(minutes=45):%Y-%m-%d %H:%M:%S}",
        "due_at": f"{at + timedelta(days=14):%Y-%m-%d} 23:59:59",
        "closed_at": "",
        "status": "已派单",
        "urge_count": "0",
        "is_business_env": "否",
        "is_key_supervision": "否",
        "visited_at": "",
        "satisfaction": "",
        "citizen_name": "李四",
        "citizen_phone": "13912345678",
        "address": "汉正街88号",
        "updated_at": updated_at,
    }
    row.update(over)
    return row


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("导出")
    ws.write_row(0, 0, header)
    for i, r in enumerate(rows, start=1):
        ws.write_row(i, 0, r)
    wb.close()
    return path


def read_quarantine(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a BOM: Excel opens it as UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def query(home: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------ cases


def case_files(tmp_path: Path) -> tuple[Path, Path]:
    """A GBK CSV (Chinese headers, an extra column, a blank row) and a UTF-8 XLSX (English headers)."""
    k = keys("cases")
    csv_rows = [
        case("QK2023A", "2023-03-01 10:00:00"),  # row 2: superseded by row 3
        case("QK2023A", "2023-03-02 16:00:00", status="已办结", closed_at="2023-03-02 16:00:00"),  # 3
        case("QK2023B", "2023-03-05 09:00:00", received="2023-03-05 08:30:00"),  # 4: also in the XLSX
        case("QK2023C", "2023-03-06 09:00:00", received="2023-03-06 08:00:00"),  # 5: the XLSX has newer
        None,  # row 6: blank, not a data row
        case("QK2023D", "2023-03-07 09:00:00", received_at="2023-02-30 09:00:00"),  # 7: bad date
        case("QK2023E", "2023-03-07 09:00:00", channel="微信"),  # 8: unknown channel
        case("", "2023-03-07 09:00:00"),  # 9: blank case id
        case("QK2023F", "2023-03-07 09:00:00", urge_count="两次", status="已完成"),  # 10: two bad fields
    ]
    header = [zh("cases")[key] for key in k] + ["导出批次"]
    gbk = write_csv(
        tmp_path / "工单导出_2023Q1.csv",
        header,
        [["" for _ in header] if r is None else [r[key] for key in k] + ["第1批"] for r in csv_rows],
        "gbk",
    )
    xlsx_rows = [
        case("QK2023C", "2023-03-08 11:00:00", received="2023-03-06 08:00:00", status="办理中"),  # 2
        case("QK2023G", "2023-03-09 10:00:00", received="2023-03-09 09:00:00"),  # 3
        case("QK2023G", "2023-03-09 09:30:00", received="2023-03-09 09:00:00", status="已受理"),  # 4: older
        case("QK2023A", "2023-03-01 12:00:00"),  # 5: older than the CSV's row 3
        case("QK2023H", "2023-03-10 10:00:00", closed_at="yesterday"),  # 6: bad datetime
        case("QK2023B", "2023-03-05 09:00:00", received="2023-03-05 08:30:00"),  # 7: the CSV's row 4 again
    ]
    xlsx = write_xlsx(
        tmp_path / "cases_2023_export.xlsx",
        k[::-1] + ["remark"],  # English keys, another order, an extra column
        [[r[key] for key in k[::-1]] + ["n/a"] for r in xlsx_rows],
    )
    return gbk, xlsx


def test_gbk_csv_and_xlsx_import_together_every_row_accounted(home: Path, tmp_path: Path) -> None:
    gbk, xlsx = case_files(tmp_path)
    results = imports.import_files("cases", [gbk, xlsx])

    by_file = {Path(r["file"]).name: r for r in results}
    assert [r["file"] for r in results] == [str(gbk), str(xlsx)]
    assert list(by_file[gbk.name]) == ["file", "rows", "loaded", "superseded", "quarantined", "cases"]
    # B@03-05 09:00 is in both files: the copy in the batch whose id sorts first is the current one.
    csv_has_b = f"file/cases/{sha256(gbk)}" < f"file/cases/{sha256(xlsx)}"
    # CSV: 8 data rows (the blank row is not one). Loaded: A@03-02 (and B); superseded: A@03-01,
    # C (the XLSX is newer) (and B); quarantined: rows 7-10.
    assert {k: by_file[gbk.name][k] for k in ("rows", "loaded", "superseded", "quarantined")} == {
        "rows": 8,
        "loaded": 1 + csv_has_b,
        "superseded": 2 + (not csv_has_b),
        "quarantined": 4,
    }
    # XLSX: loaded C@03-08, G@03-09 10:00 (and B); superseded G@09:30, A@03-01 12:00 (and B);
    # quarantined H.
    assert {k: by_file[xlsx.name][k] for k in ("rows", "loaded", "superseded", "quarantined")} == {
        "rows": 6,
        "loaded": 2 + (not csv_has_b),
        "superseded": 2 + csv_has_b,
        "quarantined": 1,
    }
    for r in results:
        assert r["loaded"] + r["superseded"] + r["quarantined"] == r["rows"]

    # The published warehouse: the latest version of every case wins, whichever file it came from.
    facts = dict(query(home, "select case_id, status from marts.fct_cases"))
    assert facts == {"QK2023A": "已办结", "QK2023B": "已派单", "QK2023C": "办理中", "QK2023G": "已派单"}
    # `cases` = distinct valid cases in the warehouse after the import, counted independently here:
    # the valid case ids of both files together.
    valid_ids = {"QK2023A", "QK2023B", "QK2023C"} | {"QK2023C", "QK2023G", "QK2023A", "QK2023B"}
    assert by_file[gbk.name]["cases"] == by_file[xlsx.name]["cases"] == len(valid_ids) == len(set(facts)) == 4
    cols = {
        c
        for (c,) in query(
            home, "select column_name from information_schema.columns where table_schema='marts'"
        )
    }
    assert not {"citizen_name", "citizen_phone", "address", "content"} & cols

    # Landing: the original bytes, the valid rows as canonical records, the manifest.
    sha = sha256(gbk)
    folder = home / "raw" / "imports" / "cases" / sha
    assert (folder / gbk.name).read_bytes() == gbk.read_bytes()
    records = [
        json.loads(line) for line in (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [(r["case_id"], r["updated_at"]) for r in records] == [
        ("QK2023A", "2023-03-01T10:00:00+08:00"),
        ("QK2023A", "2023-03-02T16:00:00+08:00"),
        ("QK2023B", "2023-03-05T09:00:00+08:00"),
        ("QK2023C", "2023-03-06T09:00:00+08:00"),
    ]
    assert set(records[0]) == set(keys("cases"))
    assert records[0]["urge_count"] == 0 and records[0]["is_business_env"] is False
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["file"] == gbk.name
    assert manifest["sha256"] == sha
    assert manifest["batch"] == f"file/cases/{sha}"
    assert (manifest["format"], manifest["encoding"]) == ("csv", "gbk")
    assert (manifest["rows"], manifest["blank_rows"], manifest["landed_records"]) == (8, 1, 4)
    assert (manifest["loaded"], manifest["superseded"], manifest["quarantined"]) == (
        by_file[gbk.name]["loaded"],
        by_file[gbk.name]["superseded"],
        4,
    )
    assert manifest["extra_columns"] == ["导出批次"]
    assert manifest["extracted_at"] and manifest["imported_at"]
    xmanifest = json.loads((home / "raw/imports/cases" / sha256(xlsx) / "manifest.json").read_text())
    assert (xmanifest["format"], xmanifest["encoding"], xmanifest["extra_columns"]) == (
        "xlsx",
        None,
        ["remark"],
    )

    # Quarantine: file, row, field and reason of each bad row; no personal data in it.
    q = read_quarantine(home / "quarantine" / "cases" / f"{sha}.csv")
    assert [(e["file"], e["row"], e["field"]) for e in q] == [
        (gbk.name, "7", "received_at"),
        (gbk.name, "8", "channel"),
        (gbk.name, "9", "case_id"),
        (gbk.name, "10", "status; urge_count"),
    ]
    assert "2023-02-30 09:00:00" in q[0]["reason"]
    assert "微信" in q[1]["reason"]
    assert q[2]["reason"] == "required field is blank"
    assert "已完成" in q[3]["reason"] and "两次" in q[3]["reason"]
    assert json.loads(q[1]["raw"])["case_id"] == "QK2023E"
    qtext = (home / "quarantine" / "cases" / f"{sha}.csv").read_text(encoding="utf-8-sig")
    assert "李四" not in qtext and "13912345678" not in qtext and "汉正街88号" not in qtext
    xq = read_quarantine(home / "quarantine" / "cases" / f"{sha256(xlsx)}.csv")
    assert [(e["file"], e["row"], e["field"]) for e in xq] == [(xlsx.name, "6", "closed_at")]

    # Raw keeps one batch per file, with what was read and quarantined.
    landings = query(
        home,
        "select batch, kind, file_name, landed_count, source_count, quarantined, loaded_rows"
        " from raw.landings order by file_name",
    )
    assert landings == [
        (f"file/cases/{sha256(xlsx)}", "file", xlsx.name, 5, 6, 1, 5),
        (f"file/cases/{sha}", "file", gbk.name, 4, 8, 4, 4),
    ]

    # Importing the same file again changes nothing: same batch, same counts, same warehouse.
    snapshot = "select count(*), sum(hash(case_id || status || updated_at)) from marts.fct_cases"
    before = (
        query(home, snapshot),
        query(home, "select count(*) from raw.cases"),
        query(home, "select count(*) from raw.landings"),
    )
    (again,) = imports.import_files("cases", [gbk])
    assert again == by_file[gbk.name] | {"file": str(gbk)}
    after = (
        query(home, snapshot),
        query(home, "select count(*) from raw.cases"),
        query(home, "select count(*) from raw.landings"),
    )
    assert after == before
    assert sorted(p.name for p in (home / "raw/imports/cases").iterdir()) == sorted([sha, sha256(xlsx)])
    assert read_quarantine(home / "quarantine" / "cases" / f"{sha}.csv") == q


def test_exact_duplicate_rows_within_a_file_are_superseded_once(home: Path, tmp_path: Path) -> None:
    k = keys("cases")
    rows = [
        case("QK2023X", "2023-04-01 10:00:00"),  # row 2: current
        case("QK2023X", "2023-04-01 10:00:00"),  # row 3: the same version again
        case("QK2023X", "2023-04-01 09:00:00", status="已受理"),  # row 4: older
        case("QK2023Y", "2023-04-01 11:00:00"),  # row 5
    ]
    f = write_csv(tmp_path / "dupes.csv", k, [[r[key] for key in k] for r in rows], "utf-8")
    (res,) = imports.import_files("cases", [f])
    assert res == {"file": str(f), "rows": 4, "loaded": 2, "superseded": 2, "quarantined": 0, "cases": 2}
    assert query(home, "select count(*) from raw.cases") == [(4,)]  # every valid row is in raw
    assert query(home, "select count(*) from marts.fct_cases") == [(2,)]


# ------------------------------------------------------------------------------------------ finance


def line(project: str, economic: str, expense: str, adjusted: str, updated: str) -> dict[str, str]:
    return {
        "fiscal_year": "2023",
        "dept_code": "118",
        "dept_name": "硚口区社会管理网格化服务中心",
        "unit_code": "118001",
        "unit_name": "硚口区社会管理网格化服务中心本级",
        "project_code": project,
        "project_name": "网格化服务运行维护" if project else "",
        "function_code": "2010350",
        "function_name": "事业运行",
        "economic_code": economic,
        "economic_name": "基本工资" if economic == "30101" else "办公费",
        "expense_type": expense,
        "fund_source": "一般公共预算",
        "initial_amount": "1,200,000.00",
        "adjusted_amount": adjusted,
        "updated_at": updated,
    }


def payment(pid: str, project: str, economic: str, expense: str, amount: str, updated: str) -> dict[str, str]:
    return {
        "payment_id": pid,
        "pay_date": "2023-03-01",
        "fiscal_year": "2023",
        "unit_code": "118001",
        "project_code": project,
        "function_code": "2010350",
        "economic_code": economic,
        "fund_source": "一般公共预算",
        "expense_type": expense,
        "amount": amount,
        "payee": "武汉某某科技有限公司",
        "summary": "支付办公费",
        "updated_at": updated,
    }


def budget_lines_csv(tmp_path: Path) -> Path:
    k = keys("budget_lines")
    rows = [
        line("", "30101", "人员经费", "1200000.00", "2023-01-05 09:00:00"),  # superseded by the adjustment
        line("", "30101", "人员经费", "1300000.00", "2023-06-30 17:00:00"),  # the adjustment: current
        line("QK2023001", "30201", "项目支出", "80000.00", "2023-01-05 09:00:00"),
    ]
    return write_csv(
        tmp_path / "预算指标_2023.csv",
        [zh("budget_lines")[key] for key in k],
        [[r[key] for key in k] for r in rows],
        "utf-8-sig",
    )


def payments_csv(tmp_path: Path, name: str = "payments_2023-03.csv") -> Path:
    k = keys("payments")
    rows = [
        payment("ZF2023030001", "", "30101", "人员经费", "100000.00", "2023-03-01 10:00:00"),  # row 2
        payment("ZF2023030002", "QK2023001", "30201", "项目支出", "1500.50", "2023-03-01 11:00:00"),  # 3
        payment(
            "ZF2023030003", "QK2023001", "30299", "项目支出", "300.00", "2023-03-01 12:00:00"
        ),  # 4: no line
        payment(
            "ZF2023030002", "QK2023001", "30201", "项目支出", "1500.00", "2023-03-01 10:30:00"
        ),  # 5: older
        payment("ZF2023030004", "", "30101", "人员经费", "-200.00", "2023-03-01 13:00:00"),  # 6: a refund
    ]
    return write_csv(tmp_path / name, k, [[r[key] for key in k] for r in rows], "utf-8")


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MINHU_HOME": str(home)}
    return subprocess.run([str(MINHU), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_cli_budget_lines_then_payments_unknown_line_quarantined_bad_file_reported(
    home: Path, tmp_path: Path
) -> None:
    lines = budget_lines_csv(tmp_path)
    out = run_cli(home, "import", "budget-lines", str(lines), "--format", "json")
    assert out.returncode == 0, out.stderr
    (res,) = [json.loads(x) for x in out.stdout.splitlines()]
    assert res == {"file": str(lines), "rows": 3, "loaded": 2, "superseded": 1, "quarantined": 0}

    pays = payments_csv(tmp_path)
    k = keys("payments")
    broken = write_csv(
        tmp_path / "支付明细_缺列.csv",
        [zh("payments")[key] for key in k if key != "amount"],
        [
            [
                "ZF2023039999",
                "2023-03-01",
                "2023",
                "118001",
                "",
                "2010350",
                "30101",
                "一般公共预算",
                "人员经费",
                "某人",
                "",
                "2023-03-01 10:00:00",
            ]
        ],
        "gbk",
    )
    out = run_cli(home, "import", "payments", str(broken), str(pays), "--format", "json")
    assert out.returncode == 1  # the broken file fails the command, after the good one imported
    got = [json.loads(x) for x in out.stdout.splitlines()]
    assert got[0]["file"] == str(broken)
    assert "支付明细_缺列.csv" in got[0]["error"] and "amount (支付金额)" in got[0]["error"]
    # 5 rows: ZF…0002@11:00, 0001 and 0004 loaded; 0002@10:30 superseded; 0003 has no budget line.
    assert got[1] == {"file": str(pays), "rows": 5, "loaded": 3, "superseded": 1, "quarantined": 1}

    q = read_quarantine(home / "quarantine" / "payments" / f"{sha256(pays)}.csv")
    assert [(e["row"], e["field"]) for e in q] == [("4", "budget_line")]
    assert q[0]["reason"].startswith("no budget line")
    for part in (
        "fiscal_year=2023",
        "unit_code=118001",
        "project_code=QK2023001",
        "economic_code=30299",
        "expense_type=项目支出",
    ):
        assert part in q[0]["reason"]
    assert "武汉某某科技有限公司" not in q[0]["raw"]  # the payee is personal data

    paid = query(home, "select payment_id, amount from raw.payments order by payment_id, updated_at")
    assert paid == [
        ("ZF2023030001", "100000.00"),
        ("ZF2023030002", "1500.00"),
        ("ZF2023030002", "1500.50"),
        ("ZF2023030004", "-200.00"),
    ]
    assert not (home / "raw/imports/payments" / sha256(broken)).exists()
    assert query(home, "select count(*) from raw.landings where file_name = ?", [broken.name]) == [(0,)]
    manifest = json.loads((home / "raw/imports/payments" / sha256(pays) / "manifest.json").read_text())
    assert (manifest["landed_records"], manifest["rejected_rows"], manifest["quarantined"]) == (5, 1, 1)
    assert query(
        home, "select loaded_rows, quarantined from raw.landings where file_name = ?", [pays.name]
    ) == [(4, 1)]


def test_payments_checked_against_budget_lines_of_the_same_command(home: Path, tmp_path: Path) -> None:
    lines, pays = budget_lines_csv(tmp_path), payments_csv(tmp_path)
    results = imports.import_sources([("payments", pays), ("budget_lines", lines)])
    assert [Path(r["file"]).name for r in results] == [pays.name, lines.name]  # in the order given
    assert results[0] == {"file": str(pays), "rows": 5, "loaded": 3, "superseded": 1, "quarantined": 1}
    assert query(home, "select count(distinct payment_id) from raw.payments") == [(3,)]


def test_a_command_whose_every_file_fails_publishes_nothing(home: Path, tmp_path: Path) -> None:
    undecodable = tmp_path / "乱码.csv"
    undecodable.write_bytes("工单编号,来源渠道\r\n".encode() + b"\xff\xfe\xff\r\n")
    results = imports.import_files("cases", [undecodable, tmp_path / "missing.csv"])
    assert [r["file"] for r in results] == [str(undecodable), str(tmp_path / "missing.csv")]
    assert "乱码.csv" in results[0]["error"] and "cannot decode" in results[0]["error"]
    assert "missing.csv" in results[1]["error"]
    assert not (home / "warehouse.duckdb").exists()
    assert not any((home / "raw" / "imports" / "cases").iterdir())


# ------------------------------------------------------------------------------------------ strict CSV

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "建国秀英志强丽娟海燕明华玉兰国庆桂芳春梅德胜"


def citizen(i: int) -> dict[str, str]:
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)] + GIVEN[(i * 11 + 3) % len(GIVEN)]
    phone = f"137{i:04d}{(i * 7919) % 10000:04d}"
    address = f"建设大道{200 + i}号{i % 9 + 1}栋"
    return {
        "citizen_name": name,
        "citizen_phone": phone,
        "address": address,
        "content": f"本人{name}，{address}楼下占道经营，联系电话{phone}。",
    }


def test_cli_strict_csv_stray_quotes_and_a_5_mb_cell(home: Path, tmp_path: Path) -> None:
    """The real `minhu import`: a GBK file of 40 rows with a stray quote on row 21, a UTF-8 file
    with stray quotes on several rows and in its last row, and a file with a 5 MB cell."""
    k = keys("cases")
    header = ",".join(zh("cases")[key] for key in k)
    people: list[dict[str, str]] = []

    def lines(prefix: str, n: int, stray_rows: set[int]) -> str:
        out = [header]
        for i in range(1, n + 1):
            person = citizen(len(people) + 1)
            people.append(person)
            row = case(f"{prefix}{i:03d}", "2023-03-02 10:00:00", **person)
            cells = [row[key] for key in k]
            if i + 1 in stray_rows:  # file row = data row + 1
                at = k.index("content") if i % 2 else k.index("category")
                cells[at] = '"' + cells[at]
            out.append(",".join(cells))
        return "\r\n".join(out) + "\r\n"

    gbk = tmp_path / "工单_引号.csv"
    gbk.write_bytes(lines("QKS", 40, {21}).encode("gbk"))
    several = tmp_path / "工单_多处引号.csv"
    several.write_text(lines("QKM", 12, {3, 8, 13}), encoding="utf-8-sig")
    name = citizen(99)["citizen_name"]
    big_content = "楼道杂物堆放，影响通行，" * 145_000 + f"联系人{name}"  # 5.2 MB in UTF-8
    big_row = case("QKB001", "2023-03-02 10:00:00", content=big_content, citizen_name=name)
    big = write_csv(
        tmp_path / "工单_大字段.csv", [zh("cases")[key] for key in k], [[big_row[key] for key in k]], "utf-8"
    )
    assert big.stat().st_size > 5_000_000

    out = run_cli(home, "import", "cases", str(gbk), str(several), str(big))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    got = out.stdout.splitlines()
    assert got[0] == f"{gbk}: 40 rows, 39 loaded, 0 superseded, 1 quarantined, 49 cases"
    assert got[1] == f"{several}: 12 rows, 9 loaded, 0 superseded, 3 quarantined, 49 cases"
    assert got[2] == f"{big}: 1 rows, 1 loaded, 0 superseded, 0 quarantined, 49 cases"

    q = read_quarantine(home / "quarantine" / "cases" / f"{sha256(gbk)}.csv")
    assert [(e["row"], e["field"]) for e in q] == [("21", "category")]
    assert q[0]["reason"].startswith("unbalanced quote in field 诉求分类 (category)")
    q = read_quarantine(home / "quarantine" / "cases" / f"{sha256(several)}.csv")
    assert [e["row"] for e in q] == ["3", "8", "13"]  # 13 is the last row
    assert all(e["reason"].startswith("unbalanced quote in field") for e in q)

    loaded = dict(query(home, "select case_id, content from raw.cases"))
    assert sorted(loaded) == sorted(
        [f"QKS{i:03d}" for i in range(1, 41) if i != 20]
        + [f"QKM{i:03d}" for i in range(1, 13) if i not in (2, 7, 12)]
        + ["QKB001"]
    )
    assert loaded["QKS021"] == people[20]["content"]  # the row after the stray quote is itself
    assert loaded["QKB001"] == big_content
    (masked,) = query(
        home, "select content_masked from staging.stg_platform__cases where case_id = 'QKB001'"
    )[0]
    assert len(masked) == len(big_content) - len(name) + 2

    # no name, phone or address of the input anywhere under quarantine/ or logs/, nor on the console
    texts = [out.stdout, out.stderr]
    for folder in ("quarantine", "logs"):
        texts += [
            p.read_text(encoding="utf-8", errors="replace") for p in (home / folder).rglob("*") if p.is_file()
        ]
    assert len(texts) > 3
    for person in [*people, citizen(99)]:
        for key in ("citizen_name", "citizen_phone", "address"):
            assert not any(person[key] in t for t in texts), (key, person[key])
