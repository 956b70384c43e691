"""Sending: an HTML email with attachments over SMTP, sent once per period and recipient list.

`deliver_once` claims the delivery in the ledger (reports/ledger.py: exactly one of two
concurrent senders sends), sends with bounded retries and exponential backoff
(MINHU_SMTP_ATTEMPTS, MINHU_SMTP_BACKOFF, MINHU_SMTP_BACKOFF_MAX, MINHU_SMTP_TIMEOUT), and
records "sent" or "failed". When the relay stays down it raises `DeliveryFailed`: one line naming
the server and the report; the report stays archived and is not marked sent, so the next run
sends it. Sending again after "sent" needs ``resend=True`` (a new delivery).

Each sent report is archived under $MINHU_HOME/reports/<kind>/<period>/ (the message as .eml
beside the HTML, XLSX and PDF, and a ``sent-<hash>.json`` receipt); the ledger is what decides.
"""

from __future__ import annotations

import hashlib
import json
import logging
import smtplib
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from minhu.calendar import TZ
from minhu.errors import DeliveryFailure
from minhu.settings import get_settings

from . import render
from .ledger import Delivery, Ledger

log = logging.getLogger(__name__)

MIME = {
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".pdf": ("application", "pdf"),
    ".html": ("text", "html"),
    ".png": ("image", "png"),
}


def recipients(group: str, name: str) -> list[str]:
    config = tomllib.loads((get_settings().config_dir / "recipients.toml").read_text(encoding="utf-8"))
    from .recipients import pick  # per district (MINHU_DISTRICT)

    return pick(config, group, name)


def build_message(
    subject: str,
    html: str,
    to: list[str],
    attachments: list[Path] = (),
    inline: dict[str, bytes] | None = None,
) -> EmailMessage:
    """An HTML message; `inline` maps Content-IDs (referenced as ``cid:<id>`` in the HTML) to PNG
    images carried in a multipart/related part beside the HTML (what mail clients show inline)."""
    s = get_settings()
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = s.mail_from
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="minhu.local")
    msg.set_content("本邮件为 HTML 格式，请使用支持 HTML 的邮件客户端查看。")
    msg.add_alternative(html, subtype="html")
    if inline:
        html_part = msg.get_body(("html",))
        for cid, png in inline.items():
            html_part.add_related(
                png,
                maintype="image",
                subtype="png",
                cid=f"<{cid}>",
                disposition="inline",
                filename=f"{cid.split('@')[0]}.png",
            )
    for path in attachments:
        maintype, subtype = MIME.get(path.suffix, ("application", "octet-stream"))
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return msg


class DeliveryFailed(DeliveryFailure):
    """A report could not be delivered (SMTP down or refusing); the message is the one line."""


def send(msg: EmailMessage) -> dict:
    """One SMTP attempt; raises OSError (smtplib's errors included) when it fails. Returns the
    recipients the relay refused (when it accepted the others)."""
    s = get_settings()
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
        return smtp.send_message(msg)


def server() -> str:
    s = get_settings()
    return f"{s.smtp_host}:{s.smtp_port}"


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, smtplib.SMTPResponseException) and isinstance(exc.smtp_error, bytes):
        text = f"{exc.smtp_code} " + " ".join(exc.smtp_error.decode("utf-8", "replace").split())
    return f"{type(exc).__name__}: {text}"[:300]


def permanent(exc: BaseException) -> bool:
    """A refusal that retrying cannot fix (a 5xx reply); everything else (connection refused or
    reset, timeouts, 4xx replies) is transient."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


class GaveUp(Exception):
    def __init__(self, exc: BaseException, attempts: int, is_permanent: bool) -> None:
        super().__init__(one_line(exc))
        self.error, self.attempts, self.permanent = one_line(exc), attempts, is_permanent


def send_retrying(msg: EmailMessage, on_retry: Callable[[str], None] | None = None) -> int:
    """Send with up to MINHU_SMTP_ATTEMPTS attempts, sleeping MINHU_SMTP_BACKOFF seconds after the
    first failure and twice as long after each next one (at most MINHU_SMTP_BACKOFF_MAX). Returns
    the attempts it took; raises GaveUp (at once for a permanent refusal)."""
    s = get_settings()
    for attempt in range(1, s.smtp_attempts + 1):
        try:
            refused = send(msg)
        except OSError as exc:
            if permanent(exc) or attempt == s.smtp_attempts:
                raise GaveUp(exc, attempt, permanent(exc)) from exc
            delay = min(s.smtp_backoff * 2 ** (attempt - 1), s.smtp_backoff_max)
            log.info(
                "SMTP %s attempt %d/%d failed (%s); retrying in %.1f s",
                server(),
                attempt,
                s.smtp_attempts,
                one_line(exc),
                delay,
            )
            if on_retry:
                on_retry(one_line(exc))
            time.sleep(delay)
            continue
        if refused:
            log.warning("SMTP %s refused %d of the recipients of %r", server(), len(refused), msg["Subject"])
        return attempt
    raise AssertionError("unreachable")  # pragma: no cover


def _marker(archive: Path, to: list[str]) -> Path:
    digest = hashlib.sha256(",".join(sorted(to)).encode()).hexdigest()[:12]
    return archive / f"sent-{digest}.json"


def already_sent(kind: str, period: str, archive: Path, to: list[str]) -> bool:
    """The last delivery of this report to this list reached "sent" (or, from before the ledger,
    its send marker exists)."""
    d = Ledger().latest(kind, period, to)
    return d.state == "sent" if d is not None else _marker(archive, to).exists()


@dataclass(frozen=True)
class Outcome:
    sent: bool  # this call sent it
    already_sent: bool  # it had been sent (by an earlier run or a concurrent one)
    delivery: Delivery


def deliver_once(
    msg: EmailMessage, kind: str, period: str, archive: Path, to: list[str], resend: bool = False
) -> Outcome:
    """Send `msg` (the `kind` report of `period`) to `to` unless it was already sent; exactly once
    per (report, period, recipient list) however many senders run at the same time."""
    s = get_settings()
    ledger = Ledger()
    what = f"{kind} report {period}"
    rerun = f"`minhu report {kind} --period {period} --send`"
    # how long a concurrent sender may take: all its attempts, timeouts and backoffs
    patience = s.smtp_attempts * (3 * s.smtp_timeout + s.smtp_backoff_max) + 60
    deadline = time.monotonic() + patience
    while True:
        claim = ledger.claim(
            kind,
            period,
            to,
            msg["Message-ID"],
            str(msg["Subject"]),
            resend=resend,
            legacy_sent=_marker(archive, to).exists(),
        )
        if claim.won:
            break
        if not claim.busy:
            log.info("%s already sent (delivery %d, %s)", what, claim.delivery.id, claim.delivery.sent_at)
            return Outcome(False, True, claim.delivery)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DeliveryFailed(
                f"{what} not sent by this run: process {claim.delivery.owner_pid} has been sending it for"
                f" over {patience:.0f} s (delivery {claim.delivery.id} in {ledger.path}); if that"
                f" process hangs, stop it and re-run {rerun}"
            )
        log.info("%s is being sent by pid %s; waiting for it", what, claim.delivery.owner_pid)
        ledger.wait(kind, period, to, timeout=remaining)
    delivery = claim.delivery
    if delivery.message_id and msg["Message-ID"] != delivery.message_id:
        msg.replace_header("Message-ID", delivery.message_id)  # a retried delivery is the same message
    try:
        attempts = send_retrying(msg, on_retry=lambda error: ledger.attempt_failed(delivery, error))
    except GaveUp as g:
        ledger.mark_failed(delivery, g.error)
        if g.permanent:
            raise DeliveryFailed(
                f"{what} not sent: SMTP {server()} refused it ({g.error}); the report is archived in"
                f" {archive}, not marked sent: fix the recipients or sender (config/recipients.toml,"
                f" MINHU_MAIL_FROM) and re-run {rerun}"
            ) from None
        raise DeliveryFailed(
            f"{what} not sent: SMTP {server()} failed {g.attempts} attempt(s), last {g.error}; the"
            f" report is archived in {archive}, not marked sent: start the mail relay (or fix"
            f" MINHU_SMTP_HOST/MINHU_SMTP_PORT) and re-run {rerun}"
        ) from None
    except BaseException as exc:  # a bug or an interrupt mid-send: the next run may take it over
        ledger.mark_failed(delivery, f"interrupted: {one_line(exc)}", attempts=0)
        raise
    ledger.mark_sent(delivery)
    log.info("%s sent to %d recipient(s) via %s in %d attempt(s)", what, len(to), server(), attempts)
    archive.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(TZ)
    render.write_bytes(archive / f"message-{stamp:%Y%m%dT%H%M%S}-{delivery.id}.eml", bytes(msg))
    render.write_text(
        _marker(archive, to),
        json.dumps(
            {
                "sent_at": stamp.isoformat(),
                "to": to,
                "subject": msg["Subject"],
                "delivery": delivery.id,
                "message_id": msg["Message-ID"],
            },
            ensure_ascii=False,
        ),
    )
    return Outcome(True, False, delivery)
