"""Nightly dbt time after 1 year of history and after N years, side by side, with the ratio.

    python -m bench.bench_nightly_history [--years 10] [--base-days 30]

What it measures: pipeline.transform.dbt_build (what every run builds with: `dbt build`, models,
data and unit tests, staging tests on the rows loaded since the last passing build) of the nightly load on a
warehouse that already holds the history — fct_case_events, fct_cases, fct_case_indicators and
fct_indicators are incremental, so the cost should not grow with the years (target: after 10
years <= 1.1x after 1 year). The fresh build of each history is printed too, for scale.

How the history is made: the case simulator's first --base-days days (from 2024-01-01) are
loaded with extract.load.load_day_file; a year is then 12 copies of those raw rows, copy m shifted
by m x base-days days (every *_at field, in Asia/Shanghai local time with +08:00) with new case
ids ('H<m>-' prefix) and batches ('#h<m>' suffix) — the same raw rows a landing of that month
would hold, at the simulator's volume. Each warehouse is built once from scratch (`dbt build`,
not timed against the target), then the nightly batch is loaded — the base's first day shifted
to the day after the history, new ids, plus a late version of 50 cases of the first month
(closed_at set, updated_at that night) — and the nightly `dbt build` is timed, with each
model's own time from dbt's run_results.json. With --base-days under 30 the calendar is
compressed (a year of rows in fewer days), so a year period recomputed holds more of the history.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

DISTRICT = "硚口区"
START = date(2024, 1, 1)


def _shift_sql(keys: list[str], days: str, prefix: str, suffix: str) -> str:
    cols = []
    for k in keys:
        if k == "case_id":
            cols.append(f"{prefix} || case_id as case_id")
        elif k.endswith("_at"):
            cols.append(
                f"case when nullif({k}, '') is null then {k} else strftime(timezone('Asia/Shanghai',"
                f" cast({k} as timestamptz) + to_days({days})), '%Y-%m-%dT%H:%M:%S') || '+08:00' end as {k}"
            )
        else:
            cols.append(f'"{k}"')
    return ", ".join(cols) + f", _batch || {suffix} as _batch, _row, _loaded_at"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_nightly_history")
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--base-days", type=int, default=30)
    ap.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="copy each warehouse here once its night is loaded, before the nightly build",
    )
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MINHU_HOME"] = tmp
        import duckdb

        from extract.load import load_day_file
        from minhu import schemas, warehouse
        from pipeline.transform import dbt_build
        from simulators import case_data

        root = Path(tmp)
        keys = schemas.keys("cases")
        base = root / "base.duckdb"
        con = warehouse.connect(base)
        for i in range(args.base_days):
            d = START + timedelta(days=i)
            path = root / f"{d}.jsonl"
            recs = case_data.case_versions(DISTRICT, d)
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
            load_day_file(con, "cases", d, path)
        con.close()

        results = []
        for years in sorted({1, args.years}):
            wh = root / f"history_{years}.duckdb"
            shutil.copyfile(base, wh)
            con = duckdb.connect(str(wh))
            con.execute("set timezone = 'Asia/Shanghai'")
            con.execute("create temp table base_rows as select * from raw.cases")
            months = 12 * years
            for m in range(1, months):
                shift = _shift_sql(keys, str(m * args.base_days), f"'H{m}-'", f"'#h{m}'")
                con.execute(f"insert into raw.cases select {shift} from base_rows")
            raw_rows = con.execute("select count(*) from raw.cases").fetchone()[0]
            cases = con.execute("select count(distinct case_id) from raw.cases").fetchone()[0]
            con.close()
            t0 = time.perf_counter()
            dbt_build(wh)
            fresh = time.perf_counter() - t0

            # the nightly batch: one more day of new cases and a late version of 50 old cases
            con = duckdb.connect(str(wh))
            con.execute("set timezone = 'Asia/Shanghai'")
            night = months * args.base_days
            shift = _shift_sql(keys, str(night), "'N-'", "'#n'")
            day0 = f"api/cases/{START}"
            con.execute(f"create temp table night as select {shift} from raw.cases where _batch = '{day0}'")
            con.execute("update night set _loaded_at = now()")  # loaded tonight, as a real load stamps it
            stamp = "'" + con.execute("select max(updated_at) from night").fetchone()[0] + "'"
            cols = ", ".join(
                f"{stamp} as {k}"
                if k == "updated_at"
                else (f"{stamp} as {k}" if k == "closed_at" else f'"{k}"')
                for k in keys
            )
            con.execute(
                f"insert into night select {cols}, '{day0}#n', 100000 + row_number() over (), now()"
                f" from (select * from raw.cases where _batch = '{day0}' and nullif(closed_at, '') is null"
                " qualify row_number() over (partition by case_id order by updated_at desc) = 1"
                " order by case_id limit 50)"
            )
            con.execute("insert into raw.cases select * from night")
            con.close()
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(wh, args.keep / f"history_{years}_night_loaded.duckdb")
            t0 = time.perf_counter()
            dbt_build(wh)
            nightly = time.perf_counter() - t0
            run_results = json.loads((root / "dbt" / "target" / "run_results.json").read_text())
            per_model = {
                r["unique_id"].split(".")[-1]: r["execution_time"]
                for r in run_results["results"]
                if re.fullmatch(r"model\.minhu\.(fct|int)_\w+", r["unique_id"])
            }
            slowest = sorted(run_results["results"], key=lambda r: -r["execution_time"])[:8]
            print(
                f"{years}y nightly, slowest nodes:",
                ", ".join(f"{r['unique_id'].split('.', 2)[-1]} {r['execution_time']:.2f}s" for r in slowest),
                flush=True,
            )
            results.append((years, raw_rows, cases, fresh, nightly, per_model))
            print(
                f"{years}y: {raw_rows} raw rows, {cases} cases, fresh {fresh:.1f} s, nightly {nightly:.1f} s",
                flush=True,
            )

        print(f"load average: {os.getloadavg()}")
        print(f"{'history':>8} {'raw rows':>10} {'cases':>9} {'fresh build s':>14} {'nightly build s':>16}")
        for years, raw_rows, cases, fresh, nightly, _ in results:
            print(f"{years:>7}y {raw_rows:>10} {cases:>9} {fresh:>14.1f} {nightly:>16.1f}")
        for years, *_, per_model in results:
            print(
                f"{years}y nightly per model:",
                ", ".join(f"{k} {v:.2f}s" for k, v in sorted(per_model.items())),
            )
        if len(results) == 2:
            print(f"nightly ratio {results[1][0]}y / 1y: {results[1][4] / results[0][4]:.2f}")


if __name__ == "__main__":
    main()
