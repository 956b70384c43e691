"""Source freshness: does each raw source still deliver?

The rule has one home, the dbt sources (`dbt_project/models/staging/_staging__sources.yml`):
each table's `loaded_at_field` and `freshness.warn_after` / `error_after`. `dbt source freshness`
measures them against *now* (for an operator, on the live warehouse); the nightly build measures
them against the *end of the business day* it loads, so a re-run or a backfill of an old day is
judged as that night would have been: lag = end of the day (Asia/Shanghai) − the newest
`loaded_at_field` of the source up to then, in the build (history + the night's landing).

- lag > error_after: one alert email to the data engineers per night (naming each stale source,
  its newest record and the business date), sent once per date and source set (a re-run does not
  send it again); warn_after: logged and recorded only.
- A source with no record at all (a new warehouse) is not judged: there is nothing to be late from.
- Freshness never blocks publication: an empty feed on a quiet day is possible, the gate guards
  the data itself, and the reports have their own completeness checks. It never raises either:
  a failure to measure or to send is logged.

Results: `$MINHU_HOME/reports/quality/freshness.json`.
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import yaml

from minhu.calendar import TZ
from minhu.settings import get_settings

log = logging.getLogger(__name__)

PERIODS = {"minute": "minutes", "hour": "hours", "day": "days"}
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Rule:
    source: str
    loaded_at_field: str
    warn_after: timedelta | None
    error_after: timedelta | None


@dataclass
class Freshness:
    source: str
    business_date: str
    newest: str | None
    lag_hours: float | None
    status: str  # pass | warn | error | no data


def _after(spec: dict | None) -> timedelta | None:
    if not spec or spec.get("count") is None:
        return None
    period = spec.get("period")
    if period not in PERIODS:
        raise ValueError(f"freshness period {period!r}: one of {', '.join(PERIODS)}")
    return timedelta(**{PERIODS[period]: int(spec["count"])})


def rules(sources_yml: Path | None = None) -> list[Rule]:
    """The freshness rules of the raw sources, read from the dbt sources yml."""
    path = sources_yml or get_settings().dbt_project_dir / "models" / "staging" / "_staging__sources.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = []
    for src in doc.get("sources", []):
        if src.get("name") != "raw":
            continue
        for table in src.get("tables", []):
            config = table.get("config") or {}
            fresh = config.get("freshness", table.get("freshness"))
            field = config.get("loaded_at_field", table.get("loaded_at_field"))
            if not fresh or not field:
                continue
            name = table["name"]
            if not _IDENT.match(name):
                raise ValueError(f"{path}: source table name {name!r} is not a plain identifier")
            found.append(Rule(name, field, _after(fresh.get("warn_after")), _after(fresh.get("error_after"))))
    return found


def measure(
    warehouse_path: Path, business_date: date, source_rules: list[Rule] | None = None
) -> list[Freshness]:
    """Each rule's lag at the end of `business_date`, in the warehouse file (read only)."""
    import duckdb

    day_end = datetime.combine(business_date + timedelta(days=1), time(0), TZ)
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        out = []
        for rule in source_rules if source_rules is not None else rules():
            exists = con.execute(
                "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = ?",
                [rule.source],
            ).fetchone()[0]
            newest = None
            if exists:
                newest = con.execute(
                    f"select max({rule.loaded_at_field}) from raw.{rule.source} where {rule.loaded_at_field} < ?",
                    [day_end],
                ).fetchone()[0]
            if newest is None:
                out.append(Freshness(rule.source, business_date.isoformat(), None, None, "no data"))
                continue
            lag = day_end - newest
            status = "pass"
            if rule.error_after is not None and lag > rule.error_after:
                status = "error"
            elif rule.warn_after is not None and lag > rule.warn_after:
                status = "warn"
            out.append(
                Freshness(
                    rule.source,
                    business_date.isoformat(),
                    newest.astimezone(TZ).isoformat(),
                    round(lag.total_seconds() / 3600, 2),
                    status,
                )
            )
        return out
    finally:
        con.close()


def _alert(stale: list[Freshness], business_date: date) -> bool:
    from reports import mail

    names = ", ".join(r.source for r in stale)
    subject = f"【minhu】数据源未更新 {business_date.isoformat()}: {names}"
    rows = "".join(
        f"<tr><td>{html.escape(r.source)}</td><td>{html.escape(r.newest or '-')}</td>"
        f"<td>{r.lag_hours:.1f}</td></tr>"
        for r in stale
    )
    body = (
        f"<p>业务日期 {business_date.isoformat()}: 以下数据源在该日结束时已超过 error_after 未交付新记录"
        f" (source freshness, dbt_project/models/staging/_staging__sources.yml)。</p>"
        "<table><tr><th>source</th><th>newest record</th><th>lag (h)</th></tr>"
        f"{rows}</table>"
        "<p>The warehouse was still built and published (freshness does not block); check the source"
        " system's feed, then re-run the day: <code>minhu run --date "
        f"{business_date.isoformat()}</code>.</p>"
    )
    to = mail.recipients("alerts", "data_engineers")
    archive = (
        get_settings().reports_dir
        / "quality"
        / "freshness"
        / business_date.isoformat()
        / names.replace(", ", "+")
    )
    msg = mail.build_message(subject, body, to)
    # once per date and set of stale sources, through the delivery ledger (retries, exactly once)
    return mail.deliver_once(msg, "freshness-alert", f"{business_date.isoformat()}:{names}", archive, to).sent


def check(warehouse_path: Path, dates: list[date]) -> list[Freshness]:
    """Measure freshness for the latest of `dates` in the build; alert on errors; never raise."""
    if not dates:
        return []
    day = max(dates)
    try:
        results = measure(warehouse_path, day)
        out = get_settings().reports_dir / "quality" / "freshness.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(
            json.dumps([asdict(r) for r in results], ensure_ascii=False, indent=2), encoding="utf-8"
        )
        for r in results:
            level = {"error": logging.ERROR, "warn": logging.WARNING}.get(r.status, logging.INFO)
            log.log(
                level,
                "freshness %s on %s: %s (newest %s, lag %s h)",
                r.source,
                day,
                r.status,
                r.newest,
                r.lag_hours,
            )
        stale = [r for r in results if r.status == "error"]
        if stale:
            _alert(stale, day)
        return results
    except Exception as exc:  # noqa: BLE001  (freshness is advice; the night goes on)
        log.error("could not check or alert source freshness for %s: %s", day, exc)
        return []
