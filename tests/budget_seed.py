"""Parser of the published 2024 department budget (tests/data/qiaokou_grid_center_2024_budget.txt, a copy of the public PDF text).

The text was extracted from a PDF: table cells wrap over several lines and headers are scrambled,
but every data row ends with its amounts (万元, two decimals). `parse()` returns the tables as
``{table_no: [row, ...]}``; a row is ``{"code": str, "name": str, <column>: Decimal, ...}``.
Table "1" rows also carry ``"side"`` (``"income"`` / ``"expenditure"``); table "10" project rows
carry ``"unit_name"``. Tables that say "本单位 2024 年无…" are empty lists.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

SEED = Path(__file__).resolve().parent / "data/qiaokou_grid_center_2024_budget.txt"

_FUND_COLUMNS = ("一般公共预算", "政府性基金预算", "国有资本经营预算")
COLUMNS: dict[str, tuple[str, ...]] = {
    "2": (
        "合计",
        "本年收入小计",
        *_FUND_COLUMNS,
        "财政专户管理资金",
        "事业收入",
        "事业单位经营收入",
        "上级补助收入",
        "附属单位上缴收入",
        "其他收入",
        "上年结转结余小计",
        *(f"结转{c}" for c in _FUND_COLUMNS),
        "结转财政专户管理资金",
        "结转单位资金",
    ),
    "3": ("合计", "基本支出", "项目支出", "事业单位经营支出", "上缴上级支出", "对附属单位补助支出"),
    "5-1": ("合计", "基本支出", "人员经费", "公用经费", "项目支出"),
    "5-2": ("合计", "基本支出", "人员经费", "公用经费", "项目支出"),
    "6": ("合计", "人员经费", "公用经费"),
    "7": (
        "合计",
        "因公出国（境）费",
        "公务用车购置及运行费",
        "公务用车购置费",
        "公务用车运行费",
        "公务接待费",
    ),
    "8": ("合计", "基本支出", "项目支出"),
    "9": ("合计", "基本支出", "项目支出"),
    "10": (
        "合计",
        *_FUND_COLUMNS,
        *(f"结转{c}" for c in _FUND_COLUMNS),
        "财政专户管理资金",
        "单位资金",
    ),
}

_HEADING = re.compile(r"^表 (\d+(?:-\d+)?)\.")
_AMOUNT = r"-?\d+\.\d{2}"
_TRAILING_AMOUNTS = re.compile(rf"((?:\s*{_AMOUNT})+)\s*$")
_CODE = re.compile(r"^([0-9A-Z]*)(.*)$")
_T1_ITEM = re.compile(rf"(?:[一二三四五六七八九十廿]+、)?(\S+?) ({_AMOUNT})")


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        m = _HEADING.match(line)
        if m:
            current = sections.setdefault(m.group(1), [])
        elif line.startswith("第三部分"):
            current = None
        elif current is not None and line:
            current.append(line)
    return sections


def _amounts(line: str) -> tuple[str, list[Decimal]]:
    """Split a line into its text and its trailing amounts."""
    m = _TRAILING_AMOUNTS.search(line)
    if not m:
        return line, []
    return line[: m.start()].strip(), [Decimal(a) for a in m.group(1).split()]


def _rows(lines: list[str], columns: tuple[str, ...]) -> list[dict]:
    """Rows of a coded table; a row may wrap over several lines and ends with its amounts.

    A row starts at a line that begins with a digit, at a line that is only amounts, or at a
    "合计" line that has amounts; header lines before it are ignored.
    """
    rows: list[dict] = []
    buffer: list[str] | None = None
    for line in lines:
        text, amounts = _amounts(line)
        starts = line[0].isdigit() or (line.startswith("合计") and amounts)
        if buffer is None and not starts:
            continue
        buffer = (buffer or []) + ([text] if text else [])
        if not amounts:
            continue
        joined = "".join(part.replace(" ", "") for part in buffer)
        buffer = None
        code, name = _CODE.match(joined).groups()
        if not code and name in ("", "合计"):
            name = "合计"
        row = {"code": code, "name": name}
        row.update(zip(columns, amounts, strict=False))
        rows.append(row)
    return rows


def _table1(lines: list[str]) -> list[dict]:
    rows = []
    for line in lines:
        compact = re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", line)
        for name, amount in _T1_ITEM.findall(compact):
            if name in ("项目", "预算数"):
                continue
            side = "income" if "收入" in name or name == "上年结转结余" else "expenditure"
            rows.append({"code": "", "name": name, "side": side, "预算数": Decimal(amount)})
    return rows


def _table10(lines: list[str]) -> list[dict]:
    rows = _rows(lines, COLUMNS["10"])
    units = [r["name"] for r in rows if len(r["code"]) == 6]
    for row in rows:
        if len(row["code"]) > 6:  # a project: its name is followed by the unit's name
            for unit in units:
                if row["name"].endswith(unit):
                    row["name"], row["unit_name"] = row["name"][: -len(unit)], unit
    return rows


@lru_cache(maxsize=1)
def _parse(path: str) -> dict[str, tuple]:
    sections = _sections(Path(path).read_text(encoding="utf-8"))
    tables: dict[str, list[dict]] = {"1": _table1(sections["1"]), "10": _table10(sections["10"])}
    for no in ("2", "3", "5-1", "5-2", "6", "7", "8", "9"):
        tables[no] = _rows(sections[no], COLUMNS[no])
    return {no: tuple(rows) for no, rows in tables.items()}


def parse(path: Path = SEED) -> dict[str, list[dict]]:
    """The published tables 1, 2, 3, 5-1, 5-2, 6, 7, 8, 9 and 10 (amounts in 万元)."""
    return {no: [dict(r) for r in rows] for no, rows in _parse(str(path)).items()}
