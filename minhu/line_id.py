"""A budget line's key as one text, ``line_id``: how a payment finds its budget line.

``fiscal_year|unit_code|project_code|function_code|economic_code|fund_source|expense_type``
(`schemas.LINE_KEY`, sources.md §2): fiscal_year as an integer, a blank project_code (基本支出)
as '', joined with '|' like SQL's ``concat_ws`` (which leaves a missing part out).

dbt builds it in the macro ``finance_line_id`` on staging's typed columns (the ``line_id`` of
stg_finance__budget_lines / stg_finance__payments and the marts). Python builds it here, and
only here: on raw columns (`sql`: the gate's raw-landing and accounting checks, and `minhu
import`'s payment check, which runs on raw.budget_lines before dbt has built this import's
lines) and on a parsed record (`of_record`). Why two homes and not one: see
dbt_project/macros/finance_line_id.md. tests/test_budget_warehouse.py checks that the three
give the same text for every raw line of a built warehouse.
"""

from __future__ import annotations

from collections.abc import Mapping

from minhu.schemas import LINE_KEY


def sql(alias: str = "") -> str:
    """The SQL of the key over a raw table's VARCHAR columns (``alias.column`` when given)."""
    p = f"{alias}." if alias else ""
    parts = []
    for key in LINE_KEY:
        if key == "fiscal_year":
            parts.append(f"try_cast({p}{key} as integer)")
        elif key == "project_code":
            parts.append(f"coalesce(nullif(trim({p}{key}), ''), '')")
        else:
            parts.append(f"{p}{key}")
    return f"concat_ws('|', {', '.join(parts)})"


def of_record(record: Mapping) -> str:
    """The key of a parsed record (a budget line or a payment), as `sql` builds it from raw."""
    parts = []
    for key in LINE_KEY:
        value = record.get(key)
        if key == "project_code":
            parts.append("" if value is None else str(value).strip())
        elif value is None:
            continue  # concat_ws leaves a null out
        elif key == "fiscal_year":
            try:
                parts.append(str(int(value)))
            except ValueError:
                continue  # try_cast gives null
        else:
            parts.append(str(value))
    return "|".join(parts)
