"""The case simulator's generation time for one day of 硚口区, cold (caches cleared) and warm.
Moved here from tests/test_case_data.py (a timed unit test): the target is < 3 s cold and < 1 s
warm on a 2-core machine; this prints the figures and asserts nothing."""

from __future__ import annotations

import argparse
import time
from datetime import date

from simulators import case_data as cd


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_case_data")
    ap.add_argument("--district", default="硚口区")
    args = ap.parse_args(argv)
    cd._received_day.cache_clear()
    t0 = time.perf_counter()
    n = len(cd.case_versions(args.district, date(2024, 5, 20)))
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    cd.case_versions(args.district, date(2024, 5, 21))
    warm = time.perf_counter() - t0
    print(f"case_versions {args.district} 2024-05-20: {n} versions, cold {cold:.2f} s, warm {warm:.2f} s")


if __name__ == "__main__":
    main()
