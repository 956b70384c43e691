"""What the quality gate leaves behind: the record of each run, Data Docs and the alert.

Everything lives under ``$MINHU_HOME/reports/quality/``:

- ``index.html``: the latest gate run, every expectation with its severity and outcome, linking
  the GX Data Docs (``gx/index.html``, rendered by GX from the validation results) and the dbt
  docs (``dbt/index.html``, ``dbt docs generate --static``);
- ``last_gate.json``: the latest gate run as data (target, passed, counts, failed labels, paths).

A build that passes also carries its own record: ``audit.gate_runs`` in the warehouse (one
row per gate run that admitted it), so the published warehouse says which audit let it in;
the 日报's data-quality line reads that row.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import shutil
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from expectations.gate import GateResult
from minhu import warehouse
from minhu.calendar import TZ
from minhu.settings import REPO_ROOT, get_settings

from .transform import dbt

log = logging.getLogger(__name__)

GATE_RUNS_DDL = """
create table if not exists audit.gate_runs (
    checked_at timestamptz not null,
    passed boolean not null,
    expectations integer not null,
    passed_expectations integer not null,
    errors integer not null,
    warnings integer not null,
    warning_labels varchar[] not null,
    seconds double,
    docs_index varchar not null,   -- $MINHU_HOME/reports/quality/index.html
    gx_docs varchar,               -- the GX Data Docs of this run
    dbt_docs varchar not null
)
"""


def quality_dir() -> Path:
    return get_settings().reports_dir / "quality"


def gx_docs_dir() -> Path:
    return quality_dir() / "gx"


def dbt_docs_dir() -> Path:
    return quality_dir() / "dbt"


def paths() -> dict:
    q = quality_dir()
    return {
        "index": str(q / "index.html"),
        "gx": str(q / "gx" / "index.html"),
        "dbt": str(q / "dbt" / "index.html"),
        "json": str(q / "last_gate.json"),
    }


def record(result: GateResult, path: Path, target: str) -> dict:
    """Write last_gate.json and index.html; a passing build also gets its audit.gate_runs row."""
    q = quality_dir()
    q.mkdir(parents=True, exist_ok=True)
    checked_at = datetime.now(TZ)
    summary = {
        "checked_at": checked_at.isoformat(),
        "warehouse": str(path),
        "target": target,
        "passed": result.passed,
        **result.counts(),
        "seconds": result.seconds,
        "failed_errors": [o.label for o in result.errors],
        "failed_warnings": [o.label for o in result.warnings],
        "notes": list(result.notes),
        "docs": paths(),
        "outcomes": [{**asdict(o), "label": o.label} for o in result.outcomes],
    }
    tmp = q / ".last_gate.json.tmp"
    tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(q / "last_gate.json")
    (q / "index.html").write_text(render_index(summary), encoding="utf-8")
    if target == "build" and result.passed:
        _audit_row(path, result, checked_at)
    return summary


def _audit_row(path: Path, result: GateResult, checked_at: datetime) -> None:
    c = result.counts()
    p = paths()
    con = warehouse.connect(path)
    try:
        con.execute("create schema if not exists audit")
        con.execute(GATE_RUNS_DDL)
        con.execute(
            "insert into audit.gate_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                checked_at,
                result.passed,
                c["expectations"],
                c["succeeded"],
                c["errors"],
                c["warnings"],
                [o.label for o in result.warnings],
                result.seconds,
                p["index"],
                p["gx"] if result.docs else None,
                p["dbt"],
            ],
        )
    finally:
        con.close()


def render_index(summary: dict) -> str:
    e = html.escape
    status = "通过" if summary["passed"] else "未通过（数据未发布）"
    rows = []
    for o in summary["outcomes"]:
        state = "通过" if o["success"] else ("错误" if o["severity"] == "error" else "警告")
        colour = "#2e7d32" if o["success"] else ("#c62828" if o["severity"] == "error" else "#ef6c00")
        rows.append(
            f"<tr><td>{e(o['suite'])}</td><td>{e(o['check'])}</td><td>{e(o['expectation'])}</td>"
            f"<td>{e(o['severity'])}</td><td style='color:{colour}'>{state}</td><td>{e(o['details'] or '')}</td></tr>"
        )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>minhu 数据质量</title>
<style>body{{font-family:sans-serif;margin:24px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top}}</style></head>
<body>
<h2>minhu 数据质量门禁：{status}</h2>
<p>检查时间 {e(summary["checked_at"])}，对象 {e(summary["target"])}（{e(summary["warehouse"])}），
共 {summary["expectations"]} 项期望，通过 {summary["succeeded"]} 项，错误 {summary["errors"]} 项，
警告 {summary["warnings"]} 项，用时 {summary["seconds"]} 秒。</p>
<p><a href="gx/index.html">Great Expectations Data Docs（校验结果）</a> ·
<a href="dbt/index.html">dbt docs（模型与血缘）</a></p>
<table><tr><th>suite</th><th>check</th><th>expectation</th><th>severity</th><th>结果</th><th>details</th></tr>
{"".join(rows)}
</table></body></html>
"""


def alert_message(result: GateResult, path: Path) -> tuple[str, str]:
    """The subject and HTML of the data engineers' alert: every failed expectation by name."""
    e = html.escape
    errors = "".join(f"<li><b>{e(o.label)}</b><br><code>{e(o.details)}</code></li>" for o in result.errors)
    warns = "".join(f"<li>{e(o.label)}<br><code>{e(o.details)}</code></li>" for o in result.warnings)
    c = result.counts()
    first = result.errors[0].label if result.errors else "?"
    more = f" 等 {len(result.errors)} 项" if len(result.errors) > 1 else ""
    subject = f"【minhu】质量门禁未通过，数据未发布：{first}{more}"
    body = (
        "<h3>minhu 质量门禁未通过：构建未发布，已发布数据保持不变，未发送报告</h3>"
        f"<p>构建 {e(str(path))}：{c['succeeded']}/{c['expectations']} 项期望通过，"
        f"{c['errors']} 项错误，{c['warnings']} 项警告。</p>"
        f"<h4>未通过的期望（error）</h4><ol>{errors}</ol>"
        + (f"<h4>警告（warning）</h4><ol>{warns}</ol>" if warns else "")
        + f"<p>Data Docs：{e(paths()['index'])}</p>"
    )
    return subject, body


# ----------------------------------------------------------------------------------- dbt docs


def _fingerprint() -> str:
    """The dbt project's files and dbt's version: the docs change only when these do."""
    from importlib.metadata import version

    s = get_settings()
    digest = hashlib.sha256(f"dbt-core {version('dbt-core')} dbt-duckdb {version('dbt-duckdb')}".encode())
    for p in sorted(s.dbt_project_dir.rglob("*")):
        rel = p.relative_to(s.dbt_project_dir)
        if p.is_file() and rel.parts[0] not in ("target", "dbt_packages", "logs"):
            digest.update(str(rel).encode() + b"\0" + p.read_bytes() + b"\0")
    digest.update(str(REPO_ROOT).encode())
    return digest.hexdigest()


def dbt_docs(path: Path) -> dict:
    """``dbt docs generate --static`` on the warehouse file into reports/quality/dbt/.

    Skipped when the docs there were generated from the same dbt project (the catalog holds
    names and types, which only the project changes): dbt's start-up costs seconds a run.
    """
    out = dbt_docs_dir()
    stamp = out / "fingerprint"
    fingerprint = _fingerprint()
    if stamp.exists() and stamp.read_text() == fingerprint and (out / "index.html").exists():
        return {"dbt_docs": str(out / "index.html"), "generated": False}
    dbt(["docs", "generate", "--static"], path)
    target = get_settings().home / "dbt" / "target"
    tmp = out.with_name(".dbt.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    shutil.copyfile(target / "static_index.html", tmp / "index.html")
    for name in ("manifest.json", "catalog.json"):
        shutil.copyfile(target / name, tmp / name)
    (tmp / "fingerprint").write_text(fingerprint)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return {"dbt_docs": str(out / "index.html"), "generated": True}
