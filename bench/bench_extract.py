"""Extraction and nightly-run figures: records/s landed from the simulators, with and without
faults, and the time of each nightly step for one business date.

    python -m bench.bench_extract [--days N] [--faults SPEC]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date, timedelta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_extract")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--faults", default="429:0.05,503:0.05,reset:0.02,truncate:0.02,repeat:0.05,seed:1")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MINHU_HOME"] = tmp
        from extract.api import Client
        from extract.land import land_window
        from simulators.faults import FaultPlan
        from simulators.server import serve_in_thread

        start = date(2024, 3, 1)
        for label, spec in (("no faults", ""), ("faults", args.faults)):
            server, url = serve_in_thread(0, faults=FaultPlan.parse(spec))
            client = Client(base_url=url, backoff=0.05, max_retry_after=0.2)
            t0 = time.perf_counter()
            n = sum(
                land_window(
                    "cases", start + timedelta(days=i + (100 if spec else 0)), client, limit=1000
                ).count
                for i in range(args.days)
            )
            dt = time.perf_counter() - t0
            server.shutdown()
            print(
                f"extract cases, {label:9}: {args.days} days, {n} records in {dt:.2f} s = {n / dt:,.0f} records/s"
            )

        from pipeline import nightly

        server, url = serve_in_thread(0)
        os.environ["MINHU_SOURCE_URL"] = url
        d = date(2024, 6, 3)
        timings = {}
        t = time.perf_counter()
        nightly.extract([d])
        timings["extract"] = time.perf_counter() - t
        with nightly.transaction("nightly") as b:
            t = time.perf_counter()
            nightly.build(b, [d])
            timings["build (load + dbt build)"] = time.perf_counter() - t
            t = time.perf_counter()
            nightly.gate(b.path, alert=False)
            timings["gate"] = time.perf_counter() - t
            t = time.perf_counter()
            nightly.publish(b)
            timings["publish"] = time.perf_counter() - t
        server.shutdown()
        for step, secs in timings.items():
            print(f"nightly {d} {step:26}: {secs:6.2f} s")
        print(f"nightly {d} total                     : {sum(timings.values()):6.2f} s")


if __name__ == "__main__":
    main()
