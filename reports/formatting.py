"""Formatting (Chinese government reporting conventions): counts, rates in percent, differences
of rates in 个百分点, money in 万元 (Decimal, half up), and the change of a count."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

DASH = "—"
CENT = Decimal("0.01")


def dec(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(str(v))


def wan(yuan: Any) -> Decimal | None:
    """Yuan → 万元, two decimals (Decimal, half up)."""
    return None if yuan is None else (dec(yuan) / 10000).quantize(CENT, ROUND_HALF_UP)


def fmt_count(v: Any) -> str:
    return DASH if v is None else f"{int(v):,}"


def fmt_pct(v: Any) -> str:
    """A rate (fraction) as a percentage with two decimals."""
    if v is None:
        return DASH
    return f"{(dec(v) * 100).quantize(CENT, ROUND_HALF_UP)}%"


def fmt_pp(v: Any) -> str:
    """A difference of rates in 个百分点, signed."""
    if v is None:
        return DASH
    x = (dec(v) * 100).quantize(CENT, ROUND_HALF_UP)
    return f"{'+' if x > 0 else ''}{x}个百分点"


def fmt_change(v: Any) -> str:
    """A relative change of a count, signed percentage."""
    if v is None:
        return DASH
    x = (dec(v) * 100).quantize(CENT, ROUND_HALF_UP)
    return f"{'+' if x > 0 else ''}{x}%"


def fmt_wan(yuan: Any) -> str:
    w = wan(yuan)
    return DASH if w is None else f"{w:,.2f}"


def fmt_yuan(yuan: Any) -> str:
    return DASH if yuan is None else f"{dec(yuan).quantize(CENT, ROUND_HALF_UP):,.2f}"


def fmt_met(v: bool | None) -> str:
    return DASH if v is None else ("达标" if v else "未达标")


FORMATS = {
    "text": lambda v: DASH if v is None or v == "" else str(v),
    "count": fmt_count,
    "heat": fmt_count,
    "days": fmt_count,
    "pct": fmt_pct,
    "pp": fmt_pp,
    "change": fmt_change,
    "wan": fmt_wan,
    "yuan": fmt_yuan,
    "met": fmt_met,
    "flag": lambda v: "" if v is None else str(v),
}


def change(current: Any, previous: Any) -> float | None:
    """Relative change of a count (环比/同比 of 受理量); None when not comparable."""
    if current is None or previous is None or previous == 0:
        return None
    return float(current) / float(previous) - 1


def diff(current: Any, previous: Any) -> float | None:
    """Difference of two rates (in fractions; shown as 个百分点)."""
    if current is None or previous is None:
        return None
    return float(current) - float(previous)
