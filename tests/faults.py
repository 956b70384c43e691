"""What the fault suites (tests/test_faults_*.py) share: running `minhu` as a real process (to
kill it), and the invariants of the warehouse that must hold whatever happened."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from minhu.schemas import fields

MINHU = Path(sys.executable).parent / "minhu"
REPO = Path(__file__).resolve().parents[1]


def env_for(home: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINHU_FAULT")}
    env.update({"MINHU_HOME": str(home), **extra})
    return env


def start(home: Path, *args: str, **extra: str) -> subprocess.Popen:
    """`minhu ARGS` as a child process of the test (MINHU_SOURCE_URL/SMTP_PORT from os.environ)."""
    return subprocess.Popen(
        [str(MINHU), *args],
        cwd=REPO,
        env=env_for(home, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 900) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def run(home: Path, *args: str, **extra: str) -> tuple[int, str, str]:
    return finish(start(home, *args, **extra))


# ------------------------------------------------------------------------------------ reading


def published(home: Path) -> Path:
    return home / "warehouse.duckdb"


def version(home: Path) -> dict | None:
    """The newest audit.publish_version row of the published warehouse, read independently."""
    p = published(home)
    if not p.exists():
        return None
    con = duckdb.connect(str(p), read_only=True)
    try:
        cur = con.execute("select * from audit.publish_version order by version desc limit 1")
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row, strict=True)) if row else None
    finally:
        con.close()


def batches(home: Path) -> set[str]:
    con = duckdb.connect(str(published(home)), read_only=True)
    try:
        return {r[0] for r in con.execute("select batch from raw.landings").fetchall()}
    finally:
        con.close()


def api_batches(d) -> set[str]:
    return {f"api/{s}/{d.isoformat()}" for s in ("cases", "budget_lines", "payments")}


# --------------------------------------------------------------------------------- invariants


def assert_published_is_gated(home: Path) -> dict:
    """The published warehouse is some gated build: its version's gate record passed."""
    v = version(home)
    assert v is not None, "the published warehouse has no version"
    assert v["gated_at"] is not None and v["published_at"] is not None, v
    con = duckdb.connect(str(published(home)), read_only=True)
    try:
        ok = con.execute(
            "select count(*) from audit.gate_runs where passed and checked_at = ?", [v["gated_at"]]
        ).fetchone()[0]
        versions = [
            r[0] for r in con.execute("select version from audit.publish_version order by 1").fetchall()
        ]
    finally:
        con.close()
    assert ok == 1, f"version {v['version']} has no passing gate record"
    assert versions == list(range(1, v["version"] + 1)), versions  # a straight history, no fork
    assert not published(home).with_name("warehouse.duckdb.wal").exists()
    return v


def processes_of(home: Path) -> list[tuple[int, str]]:
    """Processes (other than this one) running with MINHU_HOME=home: dbt orphans and the like."""
    needle = f"MINHU_HOME={home}".encode()
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            env = (p / "environ").read_bytes().split(b"\0")
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in env:
            found.append((int(p.name), cmd))
    return found


def assert_no_orphans(home: Path, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while (left := processes_of(home)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes left running: {left}"


def build_files(home: Path) -> list[str]:
    """The runs' build folders left in build/ (build/<run_id>/warehouse.duckdb, .wal, .tmp)."""
    d = home / "build"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def temp_landings(home: Path) -> list[Path]:
    raw = home / "raw"
    return [p for p in raw.rglob(".landing*")] if raw.exists() else []


def personal_values(home: Path) -> dict[str, set[str]]:
    """Every personal value landed under raw/, by field (names, phones, addresses, free text)."""
    personal = {
        src: [f.key for f in fields(src) if f.personal] for src in ("cases", "budget_lines", "payments")
    }
    values: dict[str, set[str]] = {}
    for records in (home / "raw").rglob("records.jsonl"):
        source = next(s for s in personal if s in records.parts)
        for line in records.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            for k in personal[source]:
                if rec.get(k) and len(str(rec[k])) >= 2:
                    values.setdefault(k, set()).add(str(rec[k]))
    return values


CJK = re.compile(r"[\u4e00-\u9fff]+")
DIGITS = re.compile(r"\d{11}")
HOUSE = re.compile(r"\d{1,4}号(?:\d{1,3}栋)?")


def leaked_values(text: str, values: dict[str, set[str]]) -> set[str]:
    """The personal values in a text, found by set lookups (a substring search for each of
    thousands of values over every file would take minutes): phones as 11-digit runs, names as
    2-4 character pieces of Chinese runs, addresses as a road before a house number, free text
    by its first 20 characters."""
    found = set(DIGITS.findall(text)) & values.get("citizen_phone", set())
    names = values.get("citizen_name", set())
    for run in CJK.findall(text):
        found |= {run[i : i + n] for n in (2, 3, 4) for i in range(len(run) - n + 1)} & names
    addresses = values.get("address", set())
    for m in HOUSE.finditer(text):
        found |= {text[m.start() - k : m.end()] for k in range(1, 16) if m.start() >= k} & addresses
    heads = {v[:20] for v in values.get("content", set()) if len(v) >= 20}
    for run in CJK.findall(text):
        if len(run) >= 20:
            found |= {run[i : i + 20] for i in range(len(run) - 19)} & heads
    return found


def assert_no_personal_data_outside_raw(home: Path) -> None:
    """No file outside raw/ holds a personal value. The warehouse files are not scanned: their
    raw schema keeps the landed records by design (staging masks them; marts have none)."""
    values = personal_values(home)
    assert values.get("citizen_phone"), "no personal data landed: the scan would prove nothing"
    leaks = []
    for p in home.rglob("*"):
        rel = p.relative_to(home)
        if not p.is_file() or rel.parts[0] in ("raw", "airflow") or ".duckdb" in p.name:
            continue
        text = p.read_bytes().decode("utf-8", errors="replace")
        leaks += [f"{rel}: {v!r}" for v in leaked_values(text, values)]
    assert not leaks, leaks[:10]


def assert_clean_after_success(home: Path) -> None:
    """After a command exited 0: nothing temporary is left and no writer holds the lease."""
    assert build_files(home) == [], build_files(home)
    assert temp_landings(home) == []
    assert not (home / ".warehouse.lease").exists()
    assert_no_orphans(home)


# ------------------------------------------------------------------------------------ imports


def case_row(case_id: str, received: str, updated: str) -> dict[str, str]:
    return {
        "case_id": case_id,
        "channel": "12345热线",
        "case_type": "投诉",
        "category": "城市管理/市容环境/占道经营",
        "content": "赵六反映占道经营，电话13722223333",
        "district": "硚口区",
        "street": "汉正街道",
        "community": "古田社区",
        "grid_id": "G0012",
        "handling_unit": "区城管执法局",
        "received_at": received,
        "dispatched_at": received.replace("09:15", "10:00"),
        "due_at": f"{received[:10]} 23:59:59",
        "closed_at": "",
        "status": "已派单",
        "urge_count": "0",
        "is_business_env": "否",
        "is_key_supervision": "否",
        "visited_at": "",
        "satisfaction": "",
        "citizen_name": "赵六",
        "citizen_phone": "13722223333",
        "address": "汉正街99号",
        "updated_at": updated,
    }


def write_case_file(path: Path, prefix: str, n: int = 3) -> Path:
    """An archive export of n cases received in 2023 (no overlap with the API's dates)."""
    header = {f.key: f.header for f in fields("cases")}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header.values())
    for i in range(n):
        row = case_row(f"{prefix}{i:04d}", f"2023-03-0{1 + i % 9} 09:15:00", "2023-03-20 08:00:00")
        w.writerow([row[k] for k in header])
    path.write_bytes(buf.getvalue().encode("utf-8"))
    return path


def file_batch(path: Path) -> str:
    import hashlib

    return f"file/cases/{hashlib.sha256(path.read_bytes()).hexdigest()}"
