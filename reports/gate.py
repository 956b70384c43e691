"""The quality gate as reports see it: the last gate's result (``last_gate.json``, written by
pipeline/quality.py) and the 数据质量 section (rows loaded and quarantined: marts.fct_load_runs)."""

from __future__ import annotations

import json
from typing import Any

from minhu.periods import Period
from minhu.settings import get_settings

from .document import Column, Kpi, Section, Table
from .formatting import fmt_count
from .marts import landings


def gate_status() -> dict:
    """The last quality gate's result (`last_gate.json`), summarised; missing → not passed."""
    s = get_settings()
    folder = s.reports_dir / "quality"
    path = folder / "last_gate.json"
    docs = folder / "index.html"
    out: dict[str, Any] = {
        "passed": False,
        "present": path.exists(),
        "docs": docs.as_uri() if docs.exists() else None,
    }
    if not path.exists():
        out["summary"] = "未找到质量门禁结果（last_gate.json）"
        return out
    try:
        g = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        out["summary"] = f"质量门禁结果无法读取：{path}: {exc}"
        return out
    outcomes = g.get("outcomes") or []
    errors = [o for o in outcomes if not o.get("success") and o.get("severity") == "error"]
    warnings = [o for o in outcomes if not o.get("success") and o.get("severity") != "error"]
    out.update(
        passed=bool(g.get("passed")) and not errors,
        checked_at=g.get("checked_at"),
        total=len(outcomes),
        ok=sum(1 for o in outcomes if o.get("success")),
        errors=len(errors),
        warnings=len(warnings),
        failed=[
            f"{o.get('suite')}.{o.get('check')}: {o.get('expectation')}"
            + (f"（{o['listing']}）" if o.get("listing") else "")  # e.g. the unnamed codes, 科目 2089999
            for o in errors + warnings
        ],
    )
    out["summary"] = (
        f"{out['ok']}/{out['total']} 项校验通过，错误 {out['errors']} 项，警告 {out['warnings']} 项"
    )
    return out


def quality_section(p: Period, gate: dict) -> Section:
    lq = landings(p)
    when = "当日" if p.kind == "daily" else "本期"
    verdict = "通过" if gate["passed"] else "未通过"
    s = Section("数据质量")
    s.kpis = [
        Kpi("rows_loaded", f"{when}入库记录", fmt_count(lq["loaded"]), unit="条"),
        Kpi(
            "rows_quarantined",
            f"{when}隔离记录",
            fmt_count(lq["quarantined"]),
            unit="条",
            status="bad" if lq["quarantined"] else None,
        ),
        Kpi("gate", "质量门禁", verdict, [gate["summary"]], status="ok" if gate["passed"] else "bad"),
    ]
    if gate.get("failed"):
        s.paragraphs.append("未通过的校验：" + "；".join(gate["failed"]))
    if gate.get("docs"):
        s.paragraphs.append(f'<a href="{gate["docs"]}">数据质量文档（Data Docs）</a>')
    s.tables.append(
        Table(
            "数据质量",
            "数据质量",
            [Column("项目"), Column("数值", "text")],
            [
                [f"{when}入库记录（条）", int(lq["loaded"])],
                [f"{when}隔离记录（条）", int(lq["quarantined"])],
                ["质量门禁", verdict],
                ["校验通过（项）", gate.get("ok")],
                ["校验总数（项）", gate.get("total")],
                ["门禁时间", (gate.get("checked_at") or "")[:16].replace("T", " ") or None],
            ],
        )
    )
    return s
