"""Sending: an HTML email with attachments over SMTP, sent once per period and recipient list.

Each sent report is archived under $MINHU_HOME/reports/<kind>/<period>/ (the message as .eml
beside the HTML, XLSX and PDF). A marker per recipient list records the send; sending again
needs ``resend=True``.
"""

from __future__ import annotations

import hashlib
import json
import smtplib
import tomllib
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from minhu.calendar import TZ
from minhu.settings import get_settings

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


def send(msg: EmailMessage) -> None:
    s = get_settings()
    with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=30) as smtp:
        smtp.send_message(msg)


def _marker(archive: Path, to: list[str]) -> Path:
    digest = hashlib.sha256(",".join(sorted(to)).encode()).hexdigest()[:12]
    return archive / f"sent-{digest}.json"


def already_sent(archive: Path, to: list[str]) -> bool:
    return _marker(archive, to).exists()


def send_once(msg: EmailMessage, archive: Path, to: list[str], resend: bool = False) -> bool:
    """Send unless this period was already sent to this list; archive the message. True if sent."""
    marker = _marker(archive, to)
    if marker.exists() and not resend:
        return False
    send(msg)
    archive.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(TZ)
    (archive / f"message-{stamp:%Y%m%dT%H%M%S}.eml").write_bytes(bytes(msg))
    marker.write_text(
        json.dumps({"sent_at": stamp.isoformat(), "to": to, "subject": msg["Subject"]}, ensure_ascii=False),
        encoding="utf-8",
    )
    return True
