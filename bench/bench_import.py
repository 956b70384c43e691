"""Import a large case CSV through the real `pipeline.imports.import_files`: time, throughput, memory.

Generates (deterministically, into a temporary folder that is deleted afterwards) a GBK case CSV
with Chinese headers -- the oldest kind of platform export -- of ``--rows`` data rows: ~3 % bad
rows (unparseable date, unknown channel, blank case id), ~4 % older versions of a case written
after its newer one and ~3 % newer versions (which supersede the row before them); with
``--duplicates F`` also a fraction F of exact duplicate rows (same case id and updated_at).
It then imports the file into a fresh $MINHU_HOME (land, load, dbt build, gate, publish) and
prints rows, seconds, rows/s, peak RSS of this process and of its children (dbt),
the accounting, and the accounting the generator expects. Then, as the floor, the time DuckDB's
``read_csv`` takes to read the same file transcoded to UTF-8 (every column, all varchar), and
the load average of the machine at the start and the end (the figures mean little on a loaded box).
MINHU_IMPORT_READER=python lands with the strict Python reader instead of the columnar path.

    python -m bench.bench_import --rows 200000
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import random
import resource
import sys
import tempfile
import time
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path

from minhu.schemas import CASE_FIELDS, CHANNELS

STREETS = ("汉正街道", "汉中街道", "荣华街道", "六角亭街道", "宝丰街道", "崇仁街道", "汉水桥街道", "易家街道")
UNITS = ("区城管执法局", "区住建局", "区市场监管局", "区水务局", "区民政局")
CATEGORIES = ("城市管理/市容环境/占道经营", "住房保障/物业管理/电梯故障", "环境保护/噪声污染/施工噪声")
BAD_KINDS = ("received_at", "channel", "case_id")


def _ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def write_case_csv(
    path: Path, rows: int, seed: int = 20230101, encoding: str = "gbk", duplicates: float = 0.0
) -> dict:
    """Write the benchmark file; returns the accounting the import must report."""
    rng = random.Random(seed)
    headers = [f.header for f in CASE_FIELDS]
    start = datetime(2023, 1, 1, 8, 0, 0)
    step = timedelta(days=365) / max(rows, 1)
    ring: deque[list] = deque(maxlen=2000)  # recent cases: [row, newest updated_at, versions]
    new_cases = bad = 0
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        for i in range(rows):
            r = rng.random()
            if ring and 0.03 <= r < 0.10 + duplicates:
                entry = ring[rng.randrange(len(ring))]
                case, newest, used = entry
                row = dict(case)
                if r < 0.07:  # an older version, after the newer one (never a copy of another version)
                    older = _ts(newest - timedelta(seconds=rng.randint(3600, 40 * 3600)))
                    while older in used:
                        older = _ts(datetime.fromisoformat(older) - timedelta(seconds=1))
                    used.add(older)
                    row["updated_at"] = older
                    row["status"] = "已受理"
                elif r >= 0.10:  # an exact duplicate of the newest version
                    row["updated_at"] = _ts(newest)
                else:  # a newer version: the previous newest becomes superseded
                    newest = newest + timedelta(hours=rng.randint(1, 48))
                    row["updated_at"] = _ts(newest)
                    row["status"] = "已办结"
                    row["closed_at"] = _ts(newest)
                    case.update(row)
                    entry[1] = newest
                    used.add(row["updated_at"])
            else:
                received = start + step * i
                row = {
                    "case_id": f"QK{received:%Y%m%d}{i:07d}",
                    "channel": CHANNELS[rng.randrange(len(CHANNELS))],
                    "case_type": ("咨询", "求助", "投诉", "建议")[rng.randrange(4)],
                    "category": CATEGORIES[rng.randrange(len(CATEGORIES))],
                    "content": f"市民反映{STREETS[i % len(STREETS)]}附近问题，请尽快处理。",
                    "district": "硚口区",
                    "street": STREETS[rng.randrange(len(STREETS))],
                    "community": "古田社区",
                    "grid_id": f"G{rng.randrange(1, 400):04d}",
                    "handling_unit": UNITS[rng.randrange(len(UNITS))],
                    "received_at": _ts(received),
                    "dispatched_at": _ts(received + timedelta(hours=1)),
                    "due_at": _ts(received + timedelta(days=7)),
                    "closed_at": "",
                    "status": "已派单",
                    "urge_count": str(rng.randrange(3)),
                    "is_business_env": "是" if rng.random() < 0.1 else "否",
                    "is_key_supervision": "否",
                    "visited_at": "",
                    "satisfaction": "",
                    "citizen_name": "王某",
                    "citizen_phone": f"139{rng.randrange(10**8):08d}",
                    "address": f"硚口区某路{rng.randrange(1, 300)}号",
                    "updated_at": _ts(received + timedelta(hours=50)),
                }
                if r < 0.03:  # a bad row
                    kind = BAD_KINDS[bad % len(BAD_KINDS)]
                    row[kind] = {"received_at": "2023-02-30 09:00:00", "channel": "微信", "case_id": ""}[kind]
                    bad += 1
                else:
                    new_cases += 1
                    ring.append([row, received + timedelta(hours=50), {row["updated_at"]}])
            w.writerow([row[f.key] for f in CASE_FIELDS])
    return {
        "rows": rows,
        "loaded": new_cases,
        "superseded": rows - bad - new_cases,
        "quarantined": bad,
        "cases": new_cases,
    }


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def _duckdb_floor(path: Path, encoding: str, tmp: Path) -> float:
    """Seconds DuckDB's read_csv takes to read every column of the file (transcoded to UTF-8 first)."""
    import duckdb

    utf8 = tmp / "floor.csv"
    with open(path, encoding="gb18030" if encoding == "gbk" else encoding, newline="") as fin:
        with open(utf8, "w", encoding="utf-8", newline="") as fout:
            while chunk := fin.read(1 << 20):
                fout.write(chunk)
    con = duckdb.connect()
    try:
        con.execute("set memory_limit = '256MB'")
        t0 = time.perf_counter()
        con.execute(f"select max(columns(*)) from read_csv('{utf8}', all_varchar = true)").fetchall()
        return time.perf_counter() - t0
    finally:
        con.close()
        utf8.unlink()


def _land_only(path: Path, args, expected: dict, t_gen: float, rss_before: float, load0, tmp: Path) -> int:
    from extract.imports import land_file

    t0 = time.perf_counter()
    landing = land_file(path, "cases")
    seconds = time.perf_counter() - t0
    print(f"file            {path.name} ({args.encoding}, {path.stat().st_size / 1e6:.0f} MB)")
    print(f"generated in    {t_gen:.1f} s")
    print(f"reader          {os.environ.get('MINHU_IMPORT_READER', 'columnar')}")
    print(f"landed          {landing.rows:,} rows in {seconds:.1f} s ({landing.rows / seconds:,.0f} rows/s)")
    print(
        f"peak RSS        {_peak_mb(resource.RUSAGE_SELF):,.0f} MB this process (before {rss_before:,.0f} MB)"
    )
    print(f"records         {landing.records:,} landed, {landing.invalid:,} quarantined")
    floor = _duckdb_floor(path, args.encoding, tmp)
    print(
        f"floor           DuckDB read_csv of the UTF-8 file: {floor:.1f} s ({landing.rows / floor:,.0f} rows/s)"
    )
    print(f"load average    {load0[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end (1-min)")
    if (
        landing.invalid != expected["quarantined"]
        or landing.records != expected["rows"] - expected["quarantined"]
    ):
        print("MISMATCH: the landing differs from the generator's counts", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bench_import", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--encoding", choices=["gbk", "utf-8"], default="gbk")
    p.add_argument("--seed", type=int, default=20230101)
    p.add_argument("--duplicates", type=float, default=0.0, help="fraction of exact duplicate rows")
    p.add_argument(
        "--land-only",
        action="store_true",
        help="time the landing only (read, validate, records.jsonl, quarantine): no load, dbt or gate",
    )
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="minhu-bench-import-") as tmp:
        tmp_path = Path(tmp)
        os.environ["MINHU_HOME"] = str(tmp_path / "home")
        path = tmp_path / f"工单导出_2023_{args.rows}.csv"
        t0 = time.perf_counter()
        expected = write_case_csv(path, args.rows, args.seed, args.encoding, args.duplicates)
        t_gen = time.perf_counter() - t0
        rss_before = _peak_mb(resource.RUSAGE_SELF)

        logging.basicConfig(level=logging.WARNING, format="  %(name)s: %(message)s")
        logging.getLogger("pipeline.imports").setLevel(logging.INFO)
        logging.getLogger("extract.progress").setLevel(logging.INFO)
        from pipeline.imports import import_files

        load0 = os.getloadavg()
        if args.land_only:
            return _land_only(path, args, expected, t_gen, rss_before, load0, tmp_path)
        t0 = time.perf_counter()
        (result,) = import_files("cases", [path])
        seconds = time.perf_counter() - t0
        got = {k: result.get(k) for k in expected}
        print(f"file            {path.name} ({args.encoding}, {path.stat().st_size / 1e6:.0f} MB)")
        print(f"generated in    {t_gen:.1f} s")
        print(f"rows            {result['rows']:,}")
        print(f"import seconds  {seconds:.1f} (land + load + dbt build + gate + publish)")
        print(f"rows/s          {result['rows'] / seconds:,.0f}")
        print(
            f"peak RSS        {_peak_mb(resource.RUSAGE_SELF):,.0f} MB this process (before import {rss_before:,.0f} MB)"
        )
        print(f"peak RSS        {_peak_mb(resource.RUSAGE_CHILDREN):,.0f} MB largest child (dbt)")
        print(f"accounting      {json.dumps(result, ensure_ascii=False)}")
        print(f"expected        {json.dumps(expected, ensure_ascii=False)}")
        print(f"reader          {os.environ.get('MINHU_IMPORT_READER', 'columnar')}")
        floor = _duckdb_floor(path, args.encoding, tmp_path)
        print(
            f"floor           DuckDB read_csv of the UTF-8 file: {floor:.1f} s ({result['rows'] / floor:,.0f} rows/s)"
        )
        print(f"load average    {load0[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end (1-min)")
        if got != expected:
            print("MISMATCH: the import's accounting differs from the generator's", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
