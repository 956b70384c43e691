"""`minhu report KIND --period P`: render a report from the published warehouse, optionally send it."""

from __future__ import annotations

from reports import daily

from .dates import parse_date


def report(kind: str, period: str, send: bool = False, resend: bool = False) -> dict:
    if kind == "daily":
        return daily.run(parse_date(period), send=send or resend, resend=resend)
    raise NotImplementedError(f"the {kind} report is not built yet")
