"""The one report runner: read what a report needs from one published version, build it,
archive it and — with send — deliver it once.

reports.daily, .weekly and .monthly define `run = runner(kind, build, NOTES, TEMPLATE)`; the
绩效自评表 (reports.selfeval, a fiscal year, not a Period) goes through the same delivery flow
(`delivery.send_once`: gate check, alert, archive, the ledger). `minhu report KIND --period P`
(pipeline/reporting.py), the nightly run and the report DAGs call these `run`s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from minhu import warehouse
from minhu.periods import Period, parse_period

from .delivery import deliver
from .document import Report, Section
from .gate import gate_status
from .marts import covered_dates

Sections = Callable[[Period, set[date], dict], list[Section]]
NAMES = {"daily": "日报", "weekly": "周报", "monthly": "月报"}


def run_report(
    kind: str, sections: Sections, notes: list[str], template: str, period, send: bool, resend: bool
) -> dict:
    """Render the report of a period ('2024-03-01', '2024-W10', '2024-03' or a date in it), archive
    it, and with send email it once per period and recipient list."""
    p = parse_period(kind, period)
    with warehouse.pinned():  # one published version for the whole report
        covered = covered_dates()
        gate = gate_status()
        report = Report(kind, NAMES[kind], p, sections(p, covered, gate), list(notes))
        return deliver(report, template, send, resend, gate, covered)


def runner(kind: str, sections: Sections, notes: list[str], template: str) -> Callable[..., dict]:
    """The `run(period, send=True, resend=False)` of a report module: `sections(period, covered
    dates, gate)` gives the report's sections, `notes` its notes (the workbook's 说明)."""

    def run(period: date | str, send: bool = True, resend: bool = False) -> dict:
        return run_report(kind, sections, notes, template, period, send, resend)

    run.__doc__ = f"Render the {kind} report of a period, archive it, and with send email it once."
    return run
