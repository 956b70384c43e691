"""日报: the previous business date's figures, from the published warehouse's indicator tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from minhu import warehouse
from minhu.settings import get_settings

from . import mail

TEMPLATES = Path(__file__).parent / "templates"
DISTRICT_SHORT = {"硚口区": "硚口区网格中心"}


def env() -> Environment:
    e = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    e.filters["pct"] = lambda v: "—" if v is None else f"{float(v) * 100:.2f}%"
    e.filters["count"] = lambda v: "—" if v is None else f"{int(v):,}"
    return e


def cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def subject(kind: str, period_text: str) -> str:
    district = get_settings().district
    return f"【{DISTRICT_SHORT.get(district, district + '网格中心')}】群众诉求{kind} {period_text}"


@dataclass
class Rendered:
    subject: str
    html: str
    files: list[Path]
    archive: Path


def indicator(name: str, grain: str, period: str, scope: str = "all") -> dict:
    rows = warehouse.query(
        "select numerator, denominator, value, target, met from marts.fct_indicators"
        " where indicator = ? and grain = ? and period = ? and scope = ?",
        [name, grain, period, scope],
    )
    return rows[0] if rows else {"numerator": 0, "denominator": 0, "value": None, "target": None, "met": None}


def quality(business_date: date) -> dict:
    rows = warehouse.query(
        "select coalesce(sum(loaded_rows), 0) as loaded, coalesce(sum(quarantined), 0) as quarantined"
        " from raw.landings where business_date = ?",
        [business_date],
    )
    return rows[0]


def render(business_date: date) -> Rendered:
    period = business_date.isoformat()
    ctx = {
        "date_text": cn_date(business_date),
        "case_count": indicator("case_count", "day", period),
        "ontime": indicator("ontime_close_rate", "day", period),
        "quality": quality(business_date),
    }
    html = env().get_template("daily.html").render(**ctx)
    archive = get_settings().reports_dir / "daily" / period
    archive.mkdir(parents=True, exist_ok=True)
    html_path = archive / f"daily-{period}.html"
    html_path.write_text(html, encoding="utf-8")
    return Rendered(subject("日报", cn_date(business_date)), html, [html_path], archive)


def run(business_date: date | str, send: bool = True, resend: bool = False) -> dict:
    if isinstance(business_date, str):
        business_date = date.fromisoformat(business_date)
    r = render(business_date)
    to = mail.recipients("reports", "daily")
    sent = False
    if send:
        msg = mail.build_message(r.subject, r.html, to, [p for p in r.files if p.suffix != ".html"])
        sent = mail.send_once(msg, r.archive, to, resend=resend)
    return {
        "report": "daily",
        "period": business_date.isoformat(),
        "subject": r.subject,
        "archive": str(r.archive),
        "files": [str(p) for p in r.files],
        "sent": sent,
        "to": to,
    }
