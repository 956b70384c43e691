"""The published budget tables (部门预算公开表) as input data: the long format and its raw table.

A department publishes its budget as tables (收支总表, 支出总表, 一般公共预算支出表, 基本支出表,
...) in 万元 with two decimals. `minhu import published-budget FILE` lands such a file (CSV, UTF-8
or GBK, one row per (table, row, column)) and the quality gate checks every (fiscal year, unit)
it covers against the budget lines (expectations/suites.py, budget.published_tables).

Columns (English keys; any order; unknown columns are ignored):

=============  ========  ==========================================================================
fiscal_year    required  the budget's fiscal year, e.g. 2024
unit_code      required  the budget unit (单位编码) the table is for, e.g. 118001
table          required  the table's name or number as published, e.g. 5-1 (free text)
row_name       optional  the row's caption as published (for people; not checked)
dimension      required  how the row aggregates the lines: total | function | economic | fund_source
code           required  the function/economic code prefix (类/款/项), or the fund source name for
                         dimension fund_source; empty for total
measure        required  the column: 合计 | 基本支出 (人员经费 + 公用经费) | 人员经费 | 公用经费 | 项目支出
fund_source    optional  counts only lines of this fund source (e.g. 一般公共预算 for 一般公共预算支出表);
                         empty = every fund source
amount         required  the published figure (of the lines' 年初预算数, initial amounts)
amount_unit    required  万元 (rounded to two decimals) or 元 (exact to the fen)
=============  ========  ==========================================================================

A row is reproduced when the initial amounts of its lines, in its unit (万元: rounded half up to
two decimals), differ from it by at most TOLERANCE of that unit: published 万元 totals may differ
from the sum of their rounded rows by 0.01 万元; 元 amounts are exact.
"""

from __future__ import annotations

from decimal import Decimal

from minhu.schemas import Field

SOURCE = "published_budget"
TABLE = "raw.published_budget"

DIMENSIONS = ("total", "function", "economic", "fund_source")
MEASURES = ("合计", "基本支出", "人员经费", "公用经费", "项目支出")
AMOUNT_UNITS = ("万元", "元")
TOLERANCE = {"万元": Decimal("0.01"), "元": Decimal("0.00")}
DIVISOR = {"万元": 10000, "元": 1}

FIELDS: tuple[Field, ...] = (
    Field("fiscal_year", "预算年度", "int", required=True),
    Field("unit_code", "单位编码", "string", required=True),
    Field("table", "表", "string", required=True),
    Field("row_name", "项目", "string"),
    Field("dimension", "维度", "enum", required=True, values=DIMENSIONS),
    Field("code", "编码", "string"),
    Field("measure", "栏目", "enum", required=True, values=MEASURES),
    Field("fund_source", "资金来源", "string"),
    Field("amount", "金额", "decimal", required=True),
    Field("amount_unit", "金额单位", "enum", required=True, values=AMOUNT_UNITS),
)

COLUMN_TYPES = {
    "fiscal_year": "integer",
    "unit_code": "varchar",
    "table": "varchar",
    "row_name": "varchar",
    "dimension": "varchar",
    "code": "varchar",
    "measure": "varchar",
    "fund_source": "varchar",
    "amount": "decimal(18, 2)",
    "amount_unit": "varchar",
}

DDL = (
    f"create table if not exists {TABLE} ("
    + ", ".join(f'"{k}" {t}' for k, t in COLUMN_TYPES.items())
    + ", _batch varchar not null, _row integer not null, _loaded_at timestamptz not null)"
)
