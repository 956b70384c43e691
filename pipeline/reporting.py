"""`minhu report KIND --period P`: render a report from the published warehouse, optionally send it.

The report DAGs (dags/report_*.py) call `report` too. A report that must not be sent (the last
quality gate failed, or the period's case data is not loaded) raises `ReportBlocked` after the
data engineers have been alerted; the CLI prints it and exits 1. A report the mail relay would not
take (down through every retry, or refusing it) raises `DeliveryFailed` (one line naming the SMTP
server and the report) after archiving it, not marked sent: the next run sends it.
"""

from __future__ import annotations

import importlib

from reports.delivery import ReportBlocked
from reports.mail import DeliveryFailed

__all__ = ["DeliveryFailed", "ReportBlocked", "report"]

PERIOD_EXAMPLES = {"daily": "2024-03-01", "weekly": "2024-W10", "monthly": "2024-03", "selfeval": "2024"}


def report(kind: str, period: str, send: bool = False, resend: bool = False) -> dict:
    """Each report module (reports.daily, .weekly, .monthly, .selfeval) has `run(period, send, resend)`
    returning a dict: report, period, subject, archive, files, sent, to, ..."""
    if kind not in PERIOD_EXAMPLES:
        raise ValueError(f"unknown report {kind!r}: {', '.join(PERIOD_EXAMPLES)}")
    module = importlib.import_module(f"reports.{kind}")
    return module.run(period, send=send or resend, resend=resend)
