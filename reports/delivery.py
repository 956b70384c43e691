"""Delivery: the archive (HTML, XLSX, PDF, chart PNGs) and sending once, after checking that
the data passed the quality gate and covers the whole period."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from email.message import EmailMessage
from pathlib import Path

from minhu.periods import Period
from minhu.settings import get_settings

from . import mail, render
from .document import Report
from .output import render_html, write_pdf, write_xlsx

log = logging.getLogger(__name__)


class ReportBlocked(ValueError):
    """A report was asked to be sent but must not be (failed gate, data not loaded)."""


def archive_dir(kind: str, p: Period) -> Path:
    return get_settings().reports_dir / kind / p.key


def write_files(report: Report, template: str) -> dict[str, Path]:
    """The archive: HTML (self-contained), XLSX, PDF and the chart PNGs."""
    folder = archive_dir(report.kind, report.period)
    folder.mkdir(parents=True, exist_ok=True)
    render.sweep(folder)
    stem = f"{report.kind}-{report.period.key}"
    # each file through a temporary file of its own: concurrent renders never share one
    html_path = render.write_text(folder / f"{stem}.html", render_html(report, template, inline=False))
    xlsx_path = folder / f"{stem}.xlsx"
    with render.atomic_path(xlsx_path) as tmp:
        write_xlsx(report, tmp)
    pdf_path = write_pdf(html_path, folder / f"{stem}.pdf")
    files = {"html": html_path, "xlsx": xlsx_path, "pdf": pdf_path}
    for chart in report.charts:
        files[chart.cid] = render.write_bytes(folder / f"{chart.cid.split('@')[0]}.png", chart.png)
    return files


def alert_engineers(subject: str, html: str, what: str) -> None:
    """Tell the data engineers a report was not sent (an alert that fails is logged, not raised)."""
    to = mail.recipients("alerts", "data_engineers")
    try:
        mail.send(mail.build_message(subject, html, to))
    except OSError as exc:
        log.error("could not send the alert about %s: %s", what, exc)


def send_once(
    kind: str,
    key: str,
    archive: Path,
    to: list[str],
    send: bool,
    resend: bool,
    blocked: Callable[[], str | None],
    write: Callable[[], dict[str, Path]],
    message: Callable[[dict[str, Path]], EmailMessage],
    alert: Callable[[str], None],
) -> dict:
    """The one delivery flow of every report: with send (and not sent yet, or resend) refuse when
    `blocked()` gives a reason — alert, raise ReportBlocked, write nothing; else write the archive
    and email `message(files)` once per period and recipient list (the delivery ledger)."""
    already = mail.already_sent(kind, key, archive, to)
    sending = send and (resend or not already)
    if sending:
        reason = blocked()
        if reason:
            alert(reason)
            raise ReportBlocked(f"{kind} report {key} not sent: {reason}")
    files = write()
    sent = False
    if sending:
        outcome = mail.deliver_once(message(files), kind, key, archive, to, resend=resend)
        sent, already = outcome.sent, already or outcome.already_sent
    return {"files": files, "sent": sent, "already_sent": already and not sent}


def block_reason(report: Report, gate: dict, covered: set[date]) -> str | None:
    """Why a report must not be sent: data that failed the gate or does not cover the whole period."""
    if not gate["passed"]:
        return f"质量门禁未通过（{gate['summary']}），不得以未通过校验的数据发送报告"
    missing = [d for d in report.period.dates if d not in covered]
    if missing:
        return (
            "以下日期的诉求数据尚未入库："
            + "、".join(d.isoformat() for d in missing[:7])
            + (" 等" if len(missing) > 7 else "")
        )
    return None


def alert_not_sent(report: Report, reason: str) -> None:
    html = (
        f"<h3>minhu：{report.name}未发送</h3><p>{report.subject}</p><p>原因：{reason}</p>"
        "<p>请检查夜间任务与质量门禁（minhu check），修复后重新发送："
        f"<code>minhu report {report.kind} --period "
        f"{report.period.key} --send</code></p>"
    )
    subject = f"【minhu】{report.name}未发送：{report.period.text}"
    alert_engineers(subject, html, f"the {report.kind} report {report.period.key}")


def deliver(report: Report, template: str, send: bool, resend: bool, gate: dict, covered: set[date]) -> dict:
    """Archive the report; with send, email it once per period and recipient list."""
    to = mail.recipients("reports", report.kind)
    archive = archive_dir(report.kind, report.period)
    out = send_once(
        report.kind,
        report.period.key,
        archive,
        to,
        send,
        resend,
        blocked=lambda: block_reason(report, gate, covered),
        write=lambda: write_files(report, template),
        message=lambda files: mail.build_message(
            report.subject,
            render_html(report, template, inline=True),
            to,
            [files["xlsx"], files["pdf"]],
            inline={c.cid: c.png for c in report.charts},
        ),
        alert=lambda reason: alert_not_sent(report, reason),
    )
    files = out["files"]
    return {
        "report": report.kind,
        "period": report.period.key,
        "subject": report.subject,
        "archive": str(archive),
        "files": [str(p) for p in files.values()],
        "html": str(files["html"]),
        "xlsx": str(files["xlsx"]),
        "pdf": str(files["pdf"]),
        "charts": [c.cid for c in report.charts],
        "sent": out["sent"],
        "already_sent": out["already_sent"],
        "to": to,
        "gate_passed": gate["passed"],
    }
