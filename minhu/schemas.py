"""The upstream contracts of ../shared/spec/sources.md as data.

One place names every field of every source: its English key, its Chinese header, its type
and whether it is required. Simulators generate it, extractors and file imports parse it,
the raw-landing quality suite checks it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# The value sets and the time limits have one home: the dbt project's seeds (value_sets.csv,
# case_time_limits.csv), which dbt loads for its tests and marts; Python reads the same files.
SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


@cache
def _seed(name: str) -> tuple[dict, ...]:
    with (SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def _values(field: str) -> tuple[str, ...]:
    rows = sorted((r for r in _seed("value_sets") if r["field"] == field), key=lambda r: int(r["sort_order"]))
    if not rows:
        raise RuntimeError(f"{SEEDS / 'value_sets.csv'}: no values for field {field!r}")
    return tuple(r["value"] for r in rows)


CHANNELS = _values("channel")
CASE_TYPES = _values("case_type")
CASE_STATUSES = _values("status")
SATISFACTIONS = _values("satisfaction")
EXPENSE_TYPES = _values("expense_type")
FUND_SOURCES = _values("fund_source")

# Working-day time limits by case type; business-environment cases get their own (5) whatever the type.
TIME_LIMIT_WORKING_DAYS = {
    r["case_type"]: int(r["time_limit_working_days"]) for r in _seed("case_time_limits")
}
(BUSINESS_ENV_TIME_LIMIT,) = {
    int(r["business_env_time_limit_working_days"]) for r in _seed("case_time_limits")
}


@dataclass(frozen=True)
class Field:
    key: str
    header: str  # 中文表头 of the archive exports
    type: str  # string | text | enum | datetime | date | int | bool | decimal
    required: bool = False
    values: tuple[str, ...] | None = None  # for enums
    personal: bool = False  # personal data: never reaches marts, reports or logs


CASE_FIELDS: tuple[Field, ...] = (
    Field("case_id", "工单编号", "string", required=True),
    Field("channel", "来源渠道", "enum", required=True, values=CHANNELS),
    Field("case_type", "诉求类型", "enum", required=True, values=CASE_TYPES),
    Field("category", "诉求分类", "string"),
    Field("content", "诉求内容", "text", personal=True),
    Field("district", "所属区", "string"),
    Field("street", "所属街道", "string"),
    Field("community", "所属社区", "string"),
    Field("grid_id", "所属网格", "string"),
    Field("handling_unit", "承办单位", "string"),
    Field("received_at", "受理时间", "datetime", required=True),
    Field("dispatched_at", "派单时间", "datetime"),
    Field("due_at", "办理时限", "datetime"),
    Field("closed_at", "办结时间", "datetime"),
    Field("status", "工单状态", "enum", required=True, values=CASE_STATUSES),
    Field("urge_count", "催办次数", "int"),
    Field("is_business_env", "是否营商环境", "bool"),
    Field("is_key_supervision", "是否重点督办", "bool"),
    Field("visited_at", "回访时间", "datetime"),
    Field("satisfaction", "回访满意度", "enum", values=SATISFACTIONS),
    Field("citizen_name", "诉求人", "string", personal=True),
    Field("citizen_phone", "联系电话", "string", personal=True),
    Field("address", "诉求地址", "string", personal=True),
    Field("updated_at", "更新时间", "datetime", required=True),
)

# The fields a budget line and a payment share (a payment names its line by them), defined once.
_FISCAL_YEAR = Field("fiscal_year", "预算年度", "int", required=True)
_UNIT_CODE = Field("unit_code", "单位编码", "string", required=True)
_PROJECT_CODE = Field("project_code", "项目编码", "string")
_FUNCTION_CODE = Field("function_code", "功能分类科目编码", "string", required=True)
_ECONOMIC_CODE = Field("economic_code", "经济分类科目编码", "string", required=True)
_EXPENSE_TYPE = Field("expense_type", "支出类型", "enum", required=True, values=EXPENSE_TYPES)
_FUND_SOURCE = Field("fund_source", "资金来源", "enum", required=True, values=FUND_SOURCES)
_UPDATED_AT = Field("updated_at", "更新时间", "datetime", required=True)

BUDGET_LINE_FIELDS: tuple[Field, ...] = (
    _FISCAL_YEAR,
    Field("dept_code", "部门编码", "string", required=True),
    Field("dept_name", "部门名称", "string"),
    _UNIT_CODE,
    Field("unit_name", "单位名称", "string"),
    _PROJECT_CODE,
    Field("project_name", "项目名称", "string"),
    _FUNCTION_CODE,
    Field("function_name", "功能分类科目名称", "string"),
    _ECONOMIC_CODE,
    Field("economic_name", "经济分类科目名称", "string"),
    _EXPENSE_TYPE,
    _FUND_SOURCE,
    Field("initial_amount", "年初预算数", "decimal", required=True),
    Field("adjusted_amount", "调整后预算数", "decimal", required=True),
    _UPDATED_AT,
)

# A budget line's key (sources.md §2), which a payment carries to name its line; minhu/line_id.py
# joins it into one text, `line_id`.
_LINE_KEY_FIELDS = (
    _FISCAL_YEAR,
    _UNIT_CODE,
    _PROJECT_CODE,
    _FUNCTION_CODE,
    _ECONOMIC_CODE,
    _FUND_SOURCE,
    _EXPENSE_TYPE,
)
LINE_KEY: tuple[str, ...] = tuple(f.key for f in _LINE_KEY_FIELDS)

PAYMENT_FIELDS: tuple[Field, ...] = (
    Field("payment_id", "支付凭证号", "string", required=True),
    Field("pay_date", "支付日期", "date", required=True),
    *_LINE_KEY_FIELDS,
    Field("amount", "支付金额", "decimal", required=True),
    Field("payee", "收款人", "string", personal=True),
    Field("summary", "摘要", "text"),
    _UPDATED_AT,
)

# The key that identifies one record, and the key that identifies one version of it.
SOURCES = {
    "cases": {"fields": CASE_FIELDS, "id": ("case_id",)},
    "budget_lines": {"fields": BUDGET_LINE_FIELDS, "id": LINE_KEY},
    "payments": {"fields": PAYMENT_FIELDS, "id": ("payment_id",)},
}


def fields(source: str) -> tuple[Field, ...]:
    return SOURCES[source]["fields"]


def keys(source: str) -> list[str]:
    return [f.key for f in fields(source)]
