"""`minhu indicators`: read indicator figures from the published warehouse."""

from __future__ import annotations

import re
from decimal import Decimal

from minhu import warehouse

GRAIN_PATTERNS = {
    "day": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "week": re.compile(r"^\d{4}-W\d{2}$"),
    "month": re.compile(r"^\d{4}-\d{2}$"),
    "year": re.compile(r"^\d{4}$"),
}
SCOPE_KINDS = ("all", "channel", "street", "handling_unit", "project", "function", "economic", "expense_type")


def check_period(grain: str, period: str) -> None:
    if grain not in GRAIN_PATTERNS:
        raise ValueError(f"unknown grain {grain!r}: day, week, month or year")
    if not GRAIN_PATTERNS[grain].match(period):
        examples = {"day": "2024-03-05", "week": "2024-W10", "month": "2024-03", "year": "2024"}
        raise ValueError(f"period {period!r} does not match grain {grain} (e.g. {examples[grain]})")


def _number(v: Decimal | None, unit: str):
    if v is None:
        return None
    if unit == "yuan":
        return f"{Decimal(v):.2f}"
    return int(v) if Decimal(v) == Decimal(v).to_integral_value() else float(v)


def fetch(grain: str, period: str, scope: str = "all") -> list[dict]:
    """One dict per indicator for (grain, period) and a scope: "all", a kind ("channel") for
    every value of that kind, or "<kind>:<value>" for one."""
    check_period(grain, period)
    kind = scope.split(":", 1)[0]
    if kind not in SCOPE_KINDS:
        raise ValueError(
            f"unknown scope {scope!r}: all or <kind>:<value> with kind in {', '.join(SCOPE_KINDS[1:])}"
        )
    if scope == "all" or ":" in scope:
        where, arg = "scope = ?", scope
    else:
        where, arg = "scope like ?", kind + ":%"
    rows = warehouse.query(
        f"select indicator, grain, period, scope, numerator_unit, denominator_unit, numerator, denominator,"
        f" value, target, met"
        f" from marts.fct_indicators where grain = ? and period = ? and {where} order by scope, indicator",
        [grain, period, arg],
    )
    out = []
    for r in rows:
        value = r["value"]
        out.append(
            {
                "indicator": r["indicator"],
                "grain": r["grain"],
                "period": r["period"],
                "scope": r["scope"],
                "numerator": _number(r["numerator"], r["numerator_unit"]),
                "denominator": _number(r["denominator"], r["denominator_unit"]),
                "value": None if value is None else float(value),
                "target": None if r["target"] is None else float(r["target"]),
                "met": r["met"],
            }
        )
    return out
