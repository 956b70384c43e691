"""Cell values to their canonical form: one parser per field type (the "Values" rules in
`extract.files`). Every parser takes a cell (a stripped str, or an XLSX number/datetime) and returns
the canonical value or raises ValueError with the reason the quarantine shows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from minhu.schemas import Field

TZ = timezone(timedelta(hours=8))  # Asia/Shanghai (no DST since 1991)

_DT_RE = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,6}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)
_THOUSANDS_RE = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?", re.ASCII)
_CENT = Decimal("0.01")
TRUE_WORDS = frozenset({"是", "true", "t", "1", "1.0", "y", "yes"})
FALSE_WORDS = frozenset({"否", "false", "f", "0", "0.0", "n", "no"})


def _q(v: object, limit: int = 60) -> str:
    s = str(v)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return f"'{s}'"


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _number_text(v: int | float) -> str:
    """A numeric cell as text at Excel's display precision: 2010350.0 -> '2010350'."""
    if isinstance(v, int):
        return str(v)
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number {_q(v)}")
    s = format(v, ".15g")
    if "e" in s or "E" in s:
        s = format(Decimal(s), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def cell_text(v: object) -> str:
    """Non-string cell as the text a string/enum field gets."""
    if _is_number(v):
        return _number_text(v)  # type: ignore[arg-type]
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    return str(v)


def _aware_iso(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=TZ)
    elif dt.utcoffset() != timedelta(hours=8):
        dt = dt.astimezone(TZ)
    else:
        dt = dt.replace(tzinfo=TZ)
    return dt.isoformat()


def _parse_dt_text(s: str) -> datetime:
    """'2024-03-01 09:15:00', '2024/3/1 9:15', '…T…+08:00', '…Z' -> datetime (naive = local)."""
    m = _DT_RE.fullmatch(s)
    if m is None:
        raise ValueError(f"unparseable datetime {_q(s)}")
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    try:
        dt = datetime(
            int(y),
            int(mo),
            int(d),
            int(hh or 0),
            int(mm or 0),
            int(ss or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError:
        raise ValueError(f"unparseable datetime {_q(s)}") from None
    if hh is None:
        raise ValueError(f"unparseable datetime {_q(s)} (a date without a time)")
    if tz:
        if tz in ("Z", "z"):
            off = timedelta(0)
        else:
            digits = tz[1:].replace(":", "")
            off = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            if off >= timedelta(hours=24):
                raise ValueError(f"unparseable datetime {_q(s)}")
            if tz[0] == "-":
                off = -off
        dt = dt.replace(tzinfo=timezone(off))
    return dt


def _from_excel_serial(v: float, epoch: datetime) -> datetime:
    if not 0 <= v < 2958466:  # up to 9999-12-31
        raise ValueError(f"unparseable datetime {_q(v)} (not an Excel date)")
    from openpyxl.utils.datetime import from_excel

    dt = from_excel(v, epoch)
    if isinstance(dt, datetime):
        return dt.replace(microsecond=round(dt.microsecond / 1000) * 1000 % 1_000_000)
    raise ValueError(f"unparseable datetime {_q(v)}")


def _make_datetime(epoch: datetime) -> Callable[[object], str]:
    fromiso = datetime.fromisoformat

    def parse(v: object) -> str:
        if type(v) is str:
            n = len(v)
            # Fast paths: 'YYYY-MM-DD HH:MM:SS' and 'YYYY-MM-DDTHH:MM:SS+08:00'.
            if (
                (n == 19 or (n == 25 and v[19:] == "+08:00"))
                and v[4] == "-"
                and v[7] == "-"
                and (v[10] == " " or v[10] == "T")
                and v[13] == ":"
                and v[16] == ":"
            ):
                try:
                    fromiso(v)
                except ValueError:
                    raise ValueError(f"unparseable datetime {_q(v)}") from None
                return f"{v[:10]}T{v[11:19]}+08:00"
            return _aware_iso(_parse_dt_text(v))
        if isinstance(v, datetime):
            return _aware_iso(v)
        if _is_number(v):
            return _aware_iso(_from_excel_serial(float(v), epoch))  # type: ignore[arg-type]
        if isinstance(v, date | time):
            raise ValueError(f"unparseable datetime {_q(v)} (a {type(v).__name__} cell, not a datetime)")
        raise ValueError(f"unparseable datetime {_q(v)}")

    return parse


def _make_date(epoch: datetime) -> Callable[[object], str]:
    fromiso = date.fromisoformat
    dt_parse = _make_datetime(epoch)

    def parse(v: object) -> str:
        if type(v) is str:
            if len(v) == 10 and v[4] == "-" and v[7] == "-":
                try:
                    fromiso(v)
                except ValueError:
                    raise ValueError(f"unparseable date {_q(v)}") from None
                return v
            parts = v.replace("/", "-").replace(".", "-").split("-")
            if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
                try:
                    return date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
                except ValueError:
                    raise ValueError(f"unparseable date {_q(v)}") from None
            try:
                return dt_parse(v)[:10]
            except ValueError:
                raise ValueError(f"unparseable date {_q(v)}") from None
        if isinstance(v, datetime):
            return dt_parse(v)[:10]
        if isinstance(v, date):
            return v.isoformat()
        if _is_number(v):
            return dt_parse(v)[:10]
        raise ValueError(f"unparseable date {_q(v)}")

    return parse


def parse_int(v: object) -> int:
    if type(v) is str:
        try:
            return int(v)
        except ValueError:
            pass
        try:
            d = Decimal(v.replace(",", "") if _THOUSANDS_RE.fullmatch(v) else v)
        except InvalidOperation:
            raise ValueError(f"not an integer {_q(v)}") from None
        if d.is_finite() and d == d.to_integral_value():
            return int(d)
        raise ValueError(f"not an integer {_q(v)}")
    if isinstance(v, bool):
        raise ValueError(f"not an integer {_q(v)}")
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise ValueError(f"not an integer {_q(v)}")


def _parse_bool(v: object) -> bool:
    if isinstance(v, bool):
        return v
    s = (v if type(v) is str else cell_text(v)).lower()  # type: ignore[union-attr]
    if s in TRUE_WORDS:
        return True
    if s in FALSE_WORDS:
        return False
    raise ValueError(f"not a boolean {_q(v)} (expected 是/否, true/false, 1/0, Y/N)")


def parse_decimal(v: object) -> str:
    if type(v) is str:
        s = v
        if "," in s:
            if not _THOUSANDS_RE.fullmatch(s):
                raise ValueError(f"unparseable amount {_q(v)}")
            s = s.replace(",", "")
    elif _is_number(v):
        s = _number_text(v)  # type: ignore[arg-type]
    else:
        raise ValueError(f"unparseable amount {_q(v)}")
    try:
        d = Decimal(s)
        if not d.is_finite():
            raise InvalidOperation
        q = d.quantize(_CENT)
    except InvalidOperation:
        raise ValueError(f"unparseable amount {_q(v)}") from None
    if q != d:
        raise ValueError(f"amount {_q(v)} has more than 2 decimal places")
    if not q:
        return "0.00"
    return format(q, "f")


def _make_enum(f: Field) -> Callable[[object], str]:
    allowed = frozenset(f.values or ())

    def parse(v: object) -> str:
        s = v if type(v) is str else cell_text(v)
        if s in allowed:
            return s  # type: ignore[return-value]
        raise ValueError(f"unknown {f.key} {_q(s)}")

    return parse


def parse_string(v: object) -> str:
    return cell_text(v)  # only called for non-str cells: strings are taken as they are


def parser_of(f: Field, epoch: datetime) -> Callable[[object], Any] | None:
    """The parser of a field; None for string/text (the stripped cell is the value)."""
    t = f.type
    if t in ("string", "text"):
        return None
    if t == "enum":
        return _make_enum(f)
    if t == "datetime":
        return _make_datetime(epoch)
    if t == "date":
        return _make_date(epoch)
    if t == "int":
        return parse_int
    if t == "bool":
        return _parse_bool
    if t == "decimal":
        return parse_decimal
    raise ValueError(f"field {f.key}: unknown type {t}")
