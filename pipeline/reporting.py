"""`minhu report KIND --period P`: render a report from the published warehouse, optionally send it."""

from __future__ import annotations

import importlib


def report(kind: str, period: str, send: bool = False, resend: bool = False) -> dict:
    """Each report module (reports.daily, .weekly, .monthly, .selfeval) has `run(period, send, resend)`."""
    if kind not in ("daily", "weekly", "monthly", "selfeval"):
        raise ValueError(f"unknown report {kind!r}")
    module = importlib.import_module(f"reports.{kind}")
    return module.run(period, send=send or resend, resend=resend)
