"""年度绩效自评表: the department's and each project's performance self-evaluation for a fiscal year.

For the department (scope ``all``) and each project (scope ``project:<code>``) the table shape
of a 绩效自评 (reports.md): 预算数 A, 执行数 B, 执行率 B/A and its score; each indicator with
target, actual, weight and score; the total out of 100. Scored per indicators.md:

* budget execution: ``budget_weight`` (20) × B/A, at most ``budget_weight``, two decimals half up;
* a "≥ target" indicator: weight × actual ÷ target; "≤ target": weight × target ÷ actual; never
  above the weight;
* a qualitative indicator: its configured achievement level and the fraction of the weight
  awarded within that level's band (achieved 80–100%, partly 50–80%, not achieved 0–50%).

A and B are the year-grain ``budget_execution_rate`` rows of ``marts.fct_indicators``
(denominator = adjusted budget, numerator = net payments of the year); indicator actuals come
from ``marts.fct_indicators`` too (year grain) unless the configuration states them. Weights and
targets are configuration: ``config/selfeval/<year>.toml`` (a past year keeps its own file).

Output: HTML + XLSX under ``$MINHU_HOME/reports/selfeval/<year>/``; with ``send`` an email to
``[reports].selfeval`` of config/recipients.toml, once per year and recipient list.
"""

from __future__ import annotations

import logging
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from minhu import warehouse
from minhu.periods import check_period
from minhu.settings import get_settings

from . import mail, render
from .delivery import alert_engineers, send_once
from .gate import gate_status
from .output import write_pdf
from .selfeval_config import ACHIEVEMENT_TEXT, BANDS, Config, ConfigError, IndicatorSpec, load_config

__all__ = ["BANDS", "ConfigError", "IndicatorSpec", "load_config", "run"]

TEMPLATES = Path(__file__).parent / "templates"
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")


# ---------------------------------------------------------------------------------------- scoring


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def budget_score(budget: Decimal, executed: Decimal, weight: Decimal = Decimal(20)) -> Decimal | None:
    """weight × executed ÷ budget, at most weight, two decimals half up; None without a budget."""
    if not budget:
        return None
    return round2(min(weight, weight * executed / budget))


def quantitative_score(spec: IndicatorSpec, actual: Decimal | None) -> Decimal:
    """≥ target: weight × actual ÷ target; ≤ target: weight × target ÷ actual; at most the weight.
    No actual (no data in the warehouse) scores 0."""
    if actual is None:
        return Decimal("0.00")
    if spec.direction == "ge":
        raw = spec.weight if spec.target <= 0 else spec.weight * actual / spec.target
    else:
        raw = spec.weight if actual <= 0 else spec.weight * spec.target / actual
    return round2(min(spec.weight, max(Decimal(0), raw)))


def qualitative_score(spec: IndicatorSpec) -> Decimal:
    return round2(spec.weight * spec.fraction)


# ------------------------------------------------------------------------------------- warehouse


def warehouse_actual(indicator: str, year: int, scope: str) -> Decimal | None:
    """The value of the year-grain indicator row (marts.fct_indicators), None without data."""
    rows = warehouse.query(
        "select value from marts.fct_indicators"
        " where indicator = ? and grain = 'year' and period = ? and scope = ?",
        [indicator, str(year), scope],
    )
    return None if not rows or rows[0]["value"] is None else Decimal(str(rows[0]["value"]))


def budget_rows(year: int) -> list[dict]:
    """The year's budget_execution_rate rows: the department, then each project."""
    rows = warehouse.query(
        "select i.scope, i.numerator as executed, i.denominator as budget, i.value as rate, p.project_name"
        " from marts.fct_indicators as i"
        " left join marts.dim_project as p on i.scope = 'project:' || p.project_code"
        " where i.indicator = 'budget_execution_rate' and i.grain = 'year' and i.period = ?"
        " and (i.scope = 'all' or i.scope like 'project:%')"
        " order by i.scope != 'all', i.scope",
        [str(year)],
    )
    if not rows or rows[0]["scope"] != "all":
        raise ValueError(f"no budget for fiscal year {year} in the warehouse: load its budget lines first")
    return rows


def department_name(year: int) -> str:
    """The 部门名称 of the header: the centre of MINHU_DISTRICT (settings.centre_name). The budget
    lines' own dept_name is only compared with it: another name (a warehouse holding another
    district's budget) is logged, never put in the header."""
    centre = get_settings().centre_name
    rows = warehouse.query(
        "select distinct dept_name from marts.fct_budget_lines where fiscal_year = ? and dept_name is not null"
        " order by dept_name",
        [year],
    )
    others = [r["dept_name"] for r in rows if r["dept_name"] != centre]
    if others:
        logging.getLogger(__name__).warning(
            "the %s budget lines name %s, not %s (MINHU_DISTRICT / MINHU_CENTRE_NAME)",
            year,
            "、".join(others),
            centre,
        )
    return centre


# ---------------------------------------------------------------------------------------- report


def _pct(v: Decimal | None) -> str:
    return "—" if v is None else f"{round2(v * 100)}%"


def _wan(yuan: Decimal) -> Decimal:
    return round2(Decimal(yuan) / 10000)


def _rate(value) -> Decimal | None:
    """The execution rate B/A as fct_indicators holds it, six decimals."""
    return None if value is None else Decimal(str(value)).quantize(RATE_PLACES, ROUND_HALF_UP)


def evaluate(year: int, config: Config) -> list[dict]:
    """One evaluated sheet per scope (department first): budget block, indicator rows, total."""
    sheets = []
    for row in budget_rows(year):
        scope = row["scope"]
        budget, executed = Decimal(row["budget"]), Decimal(row["executed"])
        score = budget_score(budget, executed, config.budget_weight)
        items = []
        for spec in config.indicators(scope):
            if spec.kind == "qualitative":
                actual, points, source = None, qualitative_score(spec), "配置（定性）"
                actual_text = spec.actual_text or ACHIEVEMENT_TEXT[spec.achievement]
            else:
                if spec.indicator:
                    actual = warehouse_actual(spec.indicator, year, spec.scope)
                    source = f"数据仓库 {spec.indicator}"
                else:
                    actual, source = spec.actual, "配置"
                points = quantitative_score(spec, actual)
                actual_text = _pct(actual)
            target_text = spec.target_text or (
                f"{'≥' if spec.direction == 'ge' else '≤'}{_pct(spec.target)}"
                if spec.target is not None
                else ""
            )
            items.append(
                {
                    "level1": spec.level1,
                    "level2": spec.level2,
                    "name": spec.name,
                    "indicator": spec.indicator,
                    "target": spec.target,
                    "target_text": target_text,
                    "actual": actual,
                    "actual_text": actual_text,
                    "weight": spec.weight,
                    "score": points,
                    "source": source,
                }
            )
        total = (score or Decimal(0)) + sum((i["score"] for i in items), Decimal(0))
        code = scope.removeprefix("project:") if scope != "all" else None
        sheets.append(
            {
                "scope": scope,
                "project_code": code,
                "title": "部门整体支出绩效自评表" if code is None else "项目支出绩效自评表",
                "name": row["project_name"] or code if code else None,
                "budget": budget,
                "executed": executed,
                "budget_wan": _wan(budget),
                "executed_wan": _wan(executed),
                "rate": _rate(row["rate"]),
                "budget_weight": config.budget_weight,
                "score": score,
                "items": items,
                "total": round2(total),
            }
        )
    return sheets


def scopes_json(sheets: list[dict]) -> list[dict]:
    """The `--format json` contract: scope, budget and executed (yuan strings), rate, score."""
    return [
        {
            "scope": s["scope"],
            "budget": f"{s['budget']:.2f}",
            "executed": f"{s['executed']:.2f}",
            "rate": None if s["rate"] is None else float(s["rate"]),
            "score": None if s["score"] is None else float(s["score"]),
        }
        for s in sheets
    ]


def subject(year: int) -> str:
    return f"【{get_settings().centre_short}】年度绩效自评表 {year}年度"


def render_html(year: int, dept: str, sheets: list[dict]) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["pct"] = _pct
    return env.get_template("selfeval.html").render(year=year, dept=dept, sheets=sheets)


def _sheet_name(sheet: dict, used: set[str]) -> str:
    base = "部门整体" if sheet["project_code"] is None else sheet["project_code"]
    name = re.sub(r"[\[\]:*?/\\]", "_", base)[:31]
    n = 2
    while name in used:
        name = f"{base[:27]}_{n}"
        n += 1
    used.add(name)
    return name


def write_xlsx(year: int, dept: str, sheets: list[dict], path: Path) -> Path:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    title = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
    head = wb.add_format(
        {"bold": True, "border": 1, "align": "center", "valign": "vcenter", "bg_color": "#EEEEEE"}
    )
    text = wb.add_format({"border": 1, "text_wrap": True, "valign": "vcenter"})
    money = wb.add_format({"border": 1, "num_format": "0.00"})
    pct = wb.add_format({"border": 1, "num_format": "0.00%"})
    bold = wb.add_format({"border": 1, "bold": True, "num_format": "0.00"})
    used: set[str] = set()
    for s in sheets:
        ws = wb.add_worksheet(_sheet_name(s, used))
        ws.set_column(0, 2, 16)
        ws.set_column(2, 2, 34)
        ws.set_column(3, 7, 14)
        ws.merge_range(0, 0, 0, 7, f"{year}年度{s['title']}", title)
        if s["project_code"] is None:
            ws.write(1, 0, f"部门名称：{dept}")
        else:
            ws.write(1, 0, f"项目名称：{s['name']}（项目编码 {s['project_code']}）  实施单位：{dept}")
        ws.write(2, 7, "单位：万元")
        ws.write_row(
            3, 0, ["年度预算执行", "预算数（A）", "执行数（B）", "执行率（B/A）", "分值", "得分"], head
        )
        ws.write(4, 0, "年度资金总额", text)
        ws.write_number(4, 1, float(s["budget_wan"]), money)
        ws.write_number(4, 2, float(s["executed_wan"]), money)
        if s["rate"] is None:
            ws.write(4, 3, "—", text)
        else:
            ws.write_number(4, 3, float(s["rate"]), pct)
        ws.write_number(4, 4, float(s["budget_weight"]), money)
        ws.write(4, 5, "—" if s["score"] is None else float(s["score"]), money)
        ws.write_row(
            6,
            0,
            ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "数据来源"],
            head,
        )
        r = 7
        for item in s["items"]:
            ws.write(r, 0, item["level1"], text)
            ws.write(r, 1, item["level2"], text)
            ws.write(r, 2, item["name"], text)
            ws.write(r, 3, item["target_text"], text)
            if item["actual"] is None:
                ws.write(r, 4, item["actual_text"], text)
            else:
                ws.write_number(r, 4, float(item["actual"]), pct)
            ws.write_number(r, 5, float(item["weight"]), money)
            ws.write_number(r, 6, float(item["score"]), money)
            ws.write(r, 7, item["source"], text)
            r += 1
        ws.write(r, 0, "总分", head)
        ws.write_number(r, 5, 100, bold)
        ws.write_number(r, 6, float(s["total"]), bold)
    wb.close()
    return path


def _alert(year: int, reason: str) -> None:
    html = (
        f"<h3>minhu：{year}年度绩效自评表未发送</h3><p>原因：{reason}</p>"
        f"<p>修复后重新发送：<code>minhu report selfeval --period {year} --send</code></p>"
    )
    alert_engineers(f"【minhu】年度绩效自评表未发送：{year}年度", html, f"the selfeval report {year}")


def parse_year(period: str | int) -> int:
    """A fiscal year ('2024'), by the one period parser (minhu/periods.py)."""
    try:
        return int(check_period("year", str(period)))
    except ValueError:
        raise ValueError(f"period {str(period)!r} is not a fiscal year (e.g. 2024)") from None


def write_files(year: int, dept: str, sheets: list[dict], archive: Path) -> dict[str, Path]:
    """The archive: HTML, XLSX and the PDF for filing."""
    archive.mkdir(parents=True, exist_ok=True)
    html_path = render.write_text(archive / f"selfeval-{year}.html", render_html(year, dept, sheets))
    xlsx_path = archive / f"selfeval-{year}.xlsx"
    with render.atomic_path(xlsx_path) as tmp:  # concurrent runs never share a temporary file
        write_xlsx(year, dept, sheets, tmp)
    return {
        "html": html_path,
        "xlsx": xlsx_path,
        "pdf": write_pdf(html_path, archive / f"selfeval-{year}.pdf"),
    }


def run(period: str | int, send: bool = False, resend: bool = False) -> dict:
    """`minhu report selfeval --period 2024`: render (and with send, email) the year's 绩效自评表."""
    year = parse_year(period)
    config = load_config(year)
    with warehouse.pinned():  # one published version for the whole report
        sheets = evaluate(year, config)
        dept = department_name(year)
        gate = gate_status()
    archive = get_settings().reports_dir / "selfeval" / str(year)
    to = mail.recipients("reports", "selfeval")
    files = write_files(year, dept, sheets, archive)  # rendered even when sending is refused
    out = send_once(
        "selfeval",
        str(year),
        archive,
        to,
        send,
        resend,
        # never send from data that failed the quality gate
        blocked=lambda: None if gate["passed"] else f"质量门禁未通过（{gate['summary']}）",
        write=lambda: files,
        message=lambda f: mail.build_message(
            subject(year), render_html(year, dept, sheets), to, [f["xlsx"], f["pdf"]]
        ),
        alert=lambda reason: _alert(year, reason),
    )
    return {
        "report": "selfeval",
        "period": str(year),
        "subject": subject(year),
        "archive": str(archive),
        "files": [str(p) for p in files.values()],
        "config": str(config.path),
        "sent": out["sent"],
        "to": to,
        "scopes": scopes_json(sheets),
        "totals": {s["scope"]: float(s["total"]) for s in sheets},
    }
