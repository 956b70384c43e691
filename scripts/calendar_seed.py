"""Write dbt_project/seeds/calendar_days.csv: the official days that differ from Monday-Friday.

The dbt project runs on its own (dbt + DuckDB, no product package), so dim_calendar cannot call
minhu.calendar. It reads this seed instead: every date of the years the ``chinese-calendar``
package has State Council notices for on which the official calendar is not the plain
Monday-Friday week or carries a holiday name (public holidays, their weekends, 调休 make-up
working days). The seed's first and last year are the years the package covers; dim_calendar
applies minhu.calendar's weekday fallback outside them.

Run after upgrading chinese-calendar (a new year's notice): ``.venv/bin/python scripts/calendar_seed.py``.
tests/test_dbt_standalone.py fails while the seed and the package disagree.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

from minhu.calendar import calendar_rows, supported_range

SEED = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "calendar_days.csv"
COLUMNS = ("date_day", "is_working_day", "holiday_name")


def seed_rows() -> list[dict]:
    """The official days minhu.calendar knows that are not a plain weekday/weekend."""
    lo, hi = supported_range()
    return [
        {
            "date_day": r["date"].isoformat(),
            "is_working_day": "true" if r["is_working_day"] else "false",
            "holiday_name": r["holiday_name"] or "",
        }
        for r in calendar_rows(lo, hi, strict=True)
        if r["holiday_name"] is not None or r["is_working_day"] != (r["day_of_week"] <= 5)
    ]


def seed_text() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(seed_rows())
    return out.getvalue()


def main() -> int:
    SEED.write_text(seed_text(), encoding="utf-8")
    print(f"{SEED}: {len(seed_rows())} days")
    return 0


if __name__ == "__main__":
    sys.exit(main())
