"""An option of the finance simulator: extra budget lines, e.g. a line with a code no reference knows.

Set MINHU_SIM_EXTRA_BUDGET_LINES to a CSV of budget lines (the English keys of the budget-lines
contract, minhu/schemas.py, one version a row) and the finance simulator serves them beside its
own lines of the same fiscal year (`simulators.finance_data.budget_lines`). They get no payments.
Read on every call, so a test may set the variable and clear the server's window cache.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from minhu.schemas import BUDGET_LINE_FIELDS

ENV = "MINHU_SIM_EXTRA_BUDGET_LINES"


def budget_lines(fiscal_year: int) -> list[dict]:
    """The extra budget line versions of the fiscal year (none when the variable is unset)."""
    path = os.environ.get(ENV)
    if not path:
        return []
    with Path(path).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for r in rows:
        if int(r["fiscal_year"]) != fiscal_year:
            continue
        out.append({f.key: (r.get(f.key) or "") for f in BUDGET_LINE_FIELDS} | {"fiscal_year": fiscal_year})
    return out
