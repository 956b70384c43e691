"""`minhu backfill` next to its floor, measured in the same run.

    python -m bench.bench_backfill [--years 1|10] [--start D --end D] [--workers 4]

`--years N` backfills the N calendar years ending 2024-12-31 (default 1: 2024).

1. floor: plain `requests`, 4 threads, the same windows as the backfill (cases and payments a
   month each, limit 5000; budget lines once a fiscal year), written as JSON lines; then plain
   DuckDB: `read_json` of every file and a dedup on (id, updated_at). Its own process, its own
   fresh simulator process.
2. `minhu backfill --start --end --workers N` in its own process on a fresh simulator and a fresh
   $MINHU_HOME: wall time, peak RSS (wait4's ru_maxrss: the largest process of its tree, so
   dbt's subprocess counts), and the steps it reports (extract, load, dbt build, gate).

Targets (read here, not in tests): 1-year backfill ≤ 3× floor; 10 years ≤ 10 min and ≤ 2 GB RSS.
The load average is printed before and after: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "minhu-local-token"
ENDPOINTS = {
    "cases": "/api/v1/cases",
    "payments": "/api/v1/budget/payments",
    "budget_lines": "/api/v1/budget/lines",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_simulator() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", f"from simulators.server import serve_forever; serve_forever(port={port})"],
        cwd=ROOT,
        env={**os.environ, "MINHU_SIM_FAULTS": ""},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/health", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the simulator did not start")


def run_measured(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """Run a process to its end: (seconds, peak RSS in MB of its largest process, stdout)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    secs = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}")
    return secs, usage.ru_maxrss / 1024, out


def floor(url: str, start: str, end: str, out_dir: str, workers: int) -> dict:
    """The floor itself (run in a child process by main)."""
    import duckdb
    import requests

    from extract.backfill import plan_range

    spans = plan_range(date.fromisoformat(start), date.fromisoformat(end))
    out = Path(out_dir)
    local = threading.local()

    def fetch(i_span) -> int:
        i, span = i_span
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
            s.headers["Authorization"] = f"Bearer {TOKEN}"
        params = {**span.window("硚口区").params(), "limit": "5000"}
        n = 0
        with open(out / f"{span.source}-{i:04d}.jsonl", "w", encoding="utf-8") as fh:
            while True:
                body = s.get(url + ENDPOINTS[span.source], params=params, timeout=900).json()
                for rec in body["data"]:
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                n += len(body["data"])
                if not body.get("next_cursor"):
                    return n
                params["cursor"] = body["next_cursor"]

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        records = sum(pool.map(fetch, enumerate(spans)))
    fetch_s = time.perf_counter() - t

    t = time.perf_counter()
    con = duckdb.connect(str(out / "floor.duckdb"))
    for source, key in {"cases": "case_id", "payments": "payment_id"}.items():
        con.execute(
            f"create table {source} as select * from read_json('{out}/{source}-*.jsonl',"
            " format = 'newline_delimited', sample_size = -1)"
        )
        con.execute(
            f"create table {source}_dedup as select * from {source}"
            f" qualify row_number() over (partition by {key}, updated_at order by {key}) = 1"
        )
    con.close()
    load_s = time.perf_counter() - t
    return {"records": records, "windows": len(spans), "fetch_s": fetch_s, "load_dedup_s": load_s}


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_backfill")
    ap.add_argument("--years", type=int, default=1, help="the N years ending 2024-12-31 (default 1)")
    ap.add_argument("--start", default=None)
    ap.add_argument("--end", default=None)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--floor-child", nargs=2, metavar=("URL", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    start = args.start or f"{2025 - args.years}-01-01"
    end = args.end or "2024-12-31"
    if args.floor_child:
        print(json.dumps(floor(args.floor_child[0], start, end, args.floor_child[1], args.workers)))
        return

    env = {**os.environ, "PYTHONPATH": str(ROOT), "MINHU_SIM_FAULTS": ""}
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        sim, url = start_simulator()
        try:
            cmd = [sys.executable, "-m", "bench.bench_backfill", "--start", start, "--end", end]
            cmd += ["--workers", str(args.workers), "--floor-child", url, tmp]
            floor_s, floor_rss, out = run_measured(cmd, env)
            fl = json.loads(out.strip().splitlines()[-1])
        finally:
            sim.kill()
            sim.wait()
        for p in Path(tmp).glob("*"):  # the floor's files are not needed any more
            p.unlink()

        sim, url = start_simulator()
        try:
            home = Path(tmp) / "home"
            benv = {**env, "MINHU_HOME": str(home), "MINHU_SOURCE_URL": url}
            cmd = [sys.executable, "-m", "pipeline.cli", "backfill", "--start", start, "--end", end]
            cmd += ["--workers", str(args.workers)]
            bf_s, bf_rss, out = run_measured(cmd, benv)
            bf = json.loads(out[out.index("{") :])
        finally:
            sim.kill()
            sim.wait()

    floor_total = fl["fetch_s"] + fl["load_dedup_s"]
    el = bf["extract_s"] + bf["load_s"]
    print(
        f"backfill {start}..{end}, {args.workers} workers, {bf['records']:,} records in {bf['windows']} windows"
    )
    print(f"  load average before {load_before}, after {_load()} (1/5/15 min; 2 cores)")
    print(
        f"  floor: requests ×{args.workers}, same windows      {fl['fetch_s']:8.1f} s  ({fl['records']:,} records)"
    )
    print(f"  floor: duckdb load + dedup                 {fl['load_dedup_s']:8.1f} s")
    print(
        f"  floor: total (process {floor_s:.1f} s)          {floor_total:8.1f} s   peak RSS {floor_rss:7.0f} MB"
    )
    print(f"  minhu backfill: extract (land + /count)  {bf['extract_s']:8.1f} s")
    print(f"  minhu backfill: load into raw            {bf['load_s']:8.1f} s")
    print(f"  minhu backfill: extract + load           {el:8.1f} s   = {el / floor_total:.1f}× floor")
    print(f"  minhu backfill: dbt build                {bf['dbt_build_s']:8.1f} s")
    print(f"  minhu backfill: gate                     {bf['gate_s']:8.1f} s")
    print(
        f"  minhu backfill: total (wall)             {bf_s:8.1f} s   peak RSS {bf_rss:7.0f} MB"
        f"   = {bf_s / floor_total:.1f}× floor (target ≤ 3× for 1 year; ≤ 600 s and ≤ 2048 MB for 10)"
    )


if __name__ == "__main__":
    main()
