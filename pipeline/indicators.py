"""`minhu indicators`: read indicator figures from the published warehouse."""

from __future__ import annotations

from decimal import Decimal

from minhu import warehouse
from minhu.errors import InvalidInput
from minhu.periods import PERIOD_FORMS, check_period

GRAINS = tuple(PERIOD_FORMS)
SCOPE_KINDS = ("all", "channel", "street", "handling_unit", "project", "function", "economic", "expense_type")
SCOPE_FORM = f"all, a kind ({', '.join(SCOPE_KINDS[1:])}) or <kind>:<value> (e.g. channel:12345热线)"


def check_scope(scope: str) -> str:
    """'all', a scope kind, or '<kind>:<value>' with a non-empty value; InvalidInput otherwise."""
    text = str(scope).strip()
    kind, sep, value = text.partition(":")
    if kind not in SCOPE_KINDS or (kind == "all" and sep) or (sep and not value.strip()):
        raise InvalidInput(f"unknown scope {scope!r}: expected {SCOPE_FORM}")
    return text


def _number(v: Decimal | None, unit: str):
    if v is None:
        return None
    if unit == "yuan":
        return f"{Decimal(v):.2f}"
    return int(v) if Decimal(v) == Decimal(v).to_integral_value() else float(v)


def fetch(grain: str, period: str, scope: str = "all") -> list[dict]:
    """One dict per indicator for (grain, period) and a scope: "all", a kind ("channel") for
    every value of that kind, or "<kind>:<value>" for one."""
    period = check_period(grain, period)
    scope = check_scope(scope)
    kind = scope.split(":", 1)[0]
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
    if not rows and ":" in scope:
        _check_scope_value(scope, kind)
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


def _check_scope_value(scope: str, kind: str) -> None:
    """A '<kind>:<value>' scope the warehouse has never had is a typo, not an empty period."""
    known = warehouse.query(
        "select distinct scope from marts.fct_indicators where scope like ? order by scope", [kind + ":%"]
    )
    names = [r["scope"] for r in known]
    if scope in names:
        return
    shown = ", ".join(names[:8]) + (f" … ({len(names)} in all)" if len(names) > 8 else "")
    raise InvalidInput(
        f"unknown scope {scope!r}: the published warehouse has no such {kind} scope"
        + (f" (known: {shown})" if names else f" (it has no {kind} scope at all)")
        + f"; list them with `minhu indicators --grain year --period YYYY --scope {kind}`"
    )
