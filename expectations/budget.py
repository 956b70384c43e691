"""The ``budget`` suite, per fiscal year and unit: the function (类/款/项) and economic (类/款)
hierarchies summed by code prefix (no closed list of codes), function view = economic view,
基本支出 = 人员经费 + 公用经费, Σ projects = 项目支出, execution within the adjusted budget,
payments net of refunds ≥ 0 and against existing lines, every imported published table
reproduced (any unit and year; a note says which were checked and which had none), and a
warning listing the codes in use that nothing names ("科目 2089999").

It validates what dbt built: marts.fct_budget_lines and marts.fct_payments (the latest version
of every line and payment, typed, with the macro's ``line_id``). Without them the checks report
"model missing" (a warning), never re-type raw. "Every payment is against an existing budget
line" lives here only (an error), not as a dbt relationships test.
"""

from __future__ import annotations

from expectations.common import (
    WARNING,
    accounting_check,
    all_true,
    at_least,
    between,
    equal,
    gx_expectations,
    meta,
)
from expectations.gate import Catalog, Check, Suite
from minhu import line_id, published

LINES = "marts.fct_budget_lines"
PAYMENTS = "marts.fct_payments"
BUDGET_LINES_SQL = f"""
    select line_id, fiscal_year, unit_code, project_code, function_code, economic_code,
        expense_type, fund_source, initial_amount, adjusted_amount
    from {LINES}
"""
PAYMENTS_SQL = f"select payment_id, line_id, fiscal_year, unit_code, amount from {PAYMENTS}"

PUBLISHED_TABLE = published.TABLE
# The levels of each classification: a code's 类/款/项 are its prefixes of these lengths.
LEVELS = {"function": (3, 5, 7), "economic": (3, 5)}
LEVEL_NAMES = ("class", "section", "item")
LEVEL_CN = {"class": "类", "section": "款", "item": "项"}


def _well_formed(kind: str, col: str | None = None) -> str:
    return f"regexp_full_match({col or kind + '_code'}, '\\d{{{LEVELS[kind][-1]}}}')"


def _hierarchy_check(kind: str) -> Check:
    """Per (fiscal year, unit, 类): Σ lines = 类 = Σ款 (= Σ项), every level by code prefix.

    No list of codes: each level is the sum of its lines grouped by the code's prefix, whether
    or not a name is known. The levels are aggregated from the finest up (项 → 款 → 类), so the
    check reconciles the grouping itself; a code that is not well formed (not N digits) is
    counted in no level and fails the first expectation.
    """
    levels = LEVELS[kind]
    col = f"{kind}_code"
    names = LEVEL_NAMES[: len(levels)]
    finest = names[-1]
    ctes = [
        f"""{finest} as (
                select fiscal_year, unit_code, {col} as code, sum(adjusted_amount) as amount
                from lines where {_well_formed(kind)}
                group by all
            )"""
    ]
    for upper, lower, n in zip(reversed(names[:-1]), reversed(names[1:]), reversed(levels[:-1]), strict=True):
        ctes.append(
            f"""{upper} as (
                select fiscal_year, unit_code, left(code, {n}) as code, sum(amount) as amount
                from {lower} group by all
            )"""
        )
    joins = "\n".join(
        f"""left join (
                select fiscal_year, unit_code, left(code, 3) as class_code, sum(amount) as amount
                from {name} group by all
            ) as {name}_sum using (fiscal_year, unit_code, class_code)"""
        for name in names
    )
    sums = ", ".join(f"coalesce({name}_sum.amount, 0) as {name}_amount" for name in names)

    sql = f"""
            with lines as ({BUDGET_LINES_SQL}),
            {", ".join(ctes)},
            per_class as (
                select fiscal_year, unit_code, left({col}, 3) as class_code,
                    coalesce(sum(adjusted_amount), 0) as lines_amount,
                    count(*) as lines,
                    count(*) filter (where {_well_formed(kind)}) as classified_lines
                from lines
                group by all
            )
            select per_class.*, {sums}
            from per_class
            {joins}
            order by all
        """

    def expectations() -> list:
        chain = " = ".join([LEVEL_CN["class"], *[f"Σ{LEVEL_CN[n]}" for n in names[1:]]])
        label = f"{kind} {chain} (per fiscal year, unit and 类)"
        return [
            equal(
                "lines",
                "classified_lines",
                f"every budget line's {kind} code has {levels[-1]} digits (counted at every level)",
            ),
            equal("class_amount", "lines_amount", f"{label}: 类 = Σ lines"),
            *(
                equal(
                    f"{upper}_amount", f"{lower}_amount", f"{label}: {LEVEL_CN[upper]} = Σ{LEVEL_CN[lower]}"
                )
                for upper, lower in zip(names, names[1:], strict=False)
            ),
        ]

    return Check(
        f"{kind}_hierarchy",
        sql,
        expectations,
        requires=(LINES,),
        index=("fiscal_year", "unit_code", "class_code"),
        description=f"Adjusted budget by {kind} 类, each level summed by code prefix (no list of codes).",
    )


def _names_sql() -> str:
    return """
        select 'function' as classification, function_code as code, '科目 ' || function_code as shown
        from marts.dim_function
        where name_source = 'unnamed' and last_fiscal_year is not null
        union all
        select 'economic', economic_code, '科目 ' || economic_code
        from marts.dim_economic
        where name_source = 'unnamed' and last_fiscal_year is not null
        order by 1, 2
    """


def _names_expectations() -> list:
    """Codes in use that neither the reference seeds nor the lines name: a warning listing them."""
    label = "every classification code in use has a name (reference seed or the line)"
    return [gx_expectations().ExpectTableRowCountToEqual(value=0, meta=meta(label, WARNING))]


PER_UNIT_SQL = f"""
        with lines as ({BUDGET_LINES_SQL}),
        payments as ({PAYMENTS_SQL}),
        budget as (
            select fiscal_year, unit_code,
                coalesce(sum(adjusted_amount), 0) as adjusted_budget,
                coalesce(sum(adjusted_amount) filter (where {_well_formed("function")}), 0) as function_view,
                coalesce(sum(adjusted_amount) filter (where {_well_formed("economic")}), 0) as economic_view,
                coalesce(sum(adjusted_amount) filter (where project_code is null), 0) as basic,
                coalesce(sum(adjusted_amount) filter (where expense_type = '人员经费'), 0)
                    + coalesce(sum(adjusted_amount) filter (where expense_type = '公用经费'), 0)
                    as personnel_plus_public,
                coalesce(sum(adjusted_amount) filter (where project_code is not null), 0) as projects,
                coalesce(sum(adjusted_amount) filter (where expense_type = '项目支出'), 0) as project_expense,
                count(*) filter (where project_code is null) as basic_lines,
                count(*) filter (where expense_type in ('人员经费', '公用经费')) as personnel_public_lines,
                count(*) filter (where project_code is not null) as project_lines,
                count(*) filter (where expense_type = '项目支出') as project_expense_lines
            from lines
            group by all
        ),
        executed as (
            select fiscal_year, unit_code, coalesce(sum(amount), 0) as executed
            from payments
            group by all
        )
        select
            coalesce(b.fiscal_year, x.fiscal_year) as fiscal_year,
            coalesce(b.unit_code, x.unit_code) as unit_code,
            coalesce(b.adjusted_budget, 0) as adjusted_budget,
            coalesce(x.executed, 0) as executed,
            b.function_view, b.economic_view, b.basic, b.personnel_plus_public, b.projects,
            b.project_expense, b.basic_lines, b.personnel_public_lines, b.project_lines,
            b.project_expense_lines
        from budget b
        full join executed x on b.fiscal_year = x.fiscal_year and b.unit_code = x.unit_code
        order by 1, 2
    """


def _per_unit_expectations() -> list:
    per_unit = "(per fiscal year and unit)"
    return [
        equal("function_view", "economic_view", f"function-view total = economic-view total {per_unit}"),
        equal("basic", "personnel_plus_public", f"基本支出 = 人员经费 + 公用经费 {per_unit}: amounts"),
        equal("basic_lines", "personnel_public_lines", f"基本支出 = 人员经费 + 公用经费 {per_unit}: lines"),
        equal("projects", "project_expense", f"Σ projects = 项目支出 {per_unit}: amounts"),
        equal("project_lines", "project_expense_lines", f"Σ projects = 项目支出 {per_unit}: lines"),
        at_least("adjusted_budget", "executed", "executed ≤ adjusted budget per unit"),
    ]


PER_LINE_SQL = f"""
        with lines as ({BUDGET_LINES_SQL}),
        payments as ({PAYMENTS_SQL}),
        paid as (
            select line_id, sum(amount) as executed, count(*) as payments
            from payments
            group by line_id
        )
        select l.line_id, l.adjusted_amount, coalesce(p.executed, 0) as executed, coalesce(p.payments, 0) as payments
        from lines l
        left join paid p on p.line_id = l.line_id
        union all
        -- payments against no known line still count here (their net must not be negative)
        select p.line_id, null, p.executed, p.payments
        from paid p
        where p.line_id not in (select line_id from lines)
        order by 1
    """


def _per_line_expectations() -> list:
    return [
        at_least(
            "adjusted_amount",
            "executed",
            "executed ≤ adjusted budget per line",
            WARNING,
            ignore_row_if="either_value_is_missing",
        ),
        between("executed", "payments net of refunds ≥ 0 per line", min_value=0),
    ]


PAYMENT_LINES_SQL = f"""
        with lines as ({BUDGET_LINES_SQL}),
        payments as ({PAYMENTS_SQL})
        select p.payment_id, p.line_id, p.amount, l.line_id is not null as line_found
        from payments p
        left join lines l on l.line_id = p.line_id
        order by p.payment_id
    """


_MEASURE = {
    "合计": "true",
    "基本支出": "l.expense_type in ('人员经费', '公用经费')",
    "人员经费": "l.expense_type = '人员经费'",
    "公用经费": "l.expense_type = '公用经费'",
    "项目支出": "l.expense_type = '项目支出'",
}
_PUBLISHED_COLUMNS = (
    "fiscal_year", "unit_code", "table", "row_name", "dimension", "code", "measure", "fund_source",
    "amount_unit", "published", "computed", "diff", "tolerance", "within_tolerance",
)  # fmt: skip


def _published_sql(cat: Catalog) -> str:
    """Every row of every imported published table against the budget lines' initial amounts.

    For any unit and year: the (fiscal_year, unit_code) of a published row selects its lines;
    its dimension, code, measure and fund_source say which lines it sums (minhu/published.py).
    """
    if not cat.has(PUBLISHED_TABLE):  # nothing imported: nothing to compare (the note says so)
        return "select " + ", ".join(f'null as "{c}"' for c in _PUBLISHED_COLUMNS) + " where false"
    measure = " ".join(f"when '{m}' then {cond}" for m, cond in _MEASURE.items())
    divisor = " ".join(f"when '{u}' then {d}" for u, d in published.DIVISOR.items())
    tolerance = " ".join(f"when '{u}' then {t}" for u, t in published.TOLERANCE.items())
    return f"""
        with lines as ({BUDGET_LINES_SQL}),
        published as (
            select p.*, row_number() over () as published_row from {PUBLISHED_TABLE} p
            -- only the (fiscal year, unit)s with budget lines (the others are named in the note)
            where exists (select 1 from lines l where l.fiscal_year = p.fiscal_year and l.unit_code = p.unit_code)
        ),
        computed as (
            select
                p.published_row,
                any_value(p.fiscal_year) as fiscal_year, any_value(p.unit_code) as unit_code,
                any_value(p."table") as "table", any_value(p.row_name) as row_name,
                any_value(p.dimension) as dimension, any_value(p.code) as code,
                any_value(p.measure) as measure, any_value(p.fund_source) as fund_source,
                any_value(p.amount_unit) as amount_unit, any_value(p.amount) as published,
                coalesce(sum(l.initial_amount) filter (where case p.measure {measure} end), 0) as yuan
            from published p
            left join lines l
                on l.fiscal_year = p.fiscal_year
                and l.unit_code = p.unit_code
                and case p.dimension
                    when 'function' then starts_with(l.function_code, p.code)
                    when 'economic' then starts_with(l.economic_code, p.code)
                    when 'fund_source' then l.fund_source = p.code
                    else true
                end
                and (nullif(trim(p.fund_source), '') is null or l.fund_source = trim(p.fund_source))
            group by p.published_row
        ),
        compared as (
            select *,
                cast(round(yuan / (case amount_unit {divisor} end), 2) as decimal(18, 2)) as computed,
                cast(case amount_unit {tolerance} end as decimal(18, 2)) as tolerance
            from computed
        )
        select fiscal_year, unit_code, "table", row_name, dimension, code, measure, fund_source,
            amount_unit, published, computed, computed - published as diff, tolerance,
            abs(computed - published) <= tolerance as within_tolerance
        from compared
        order by fiscal_year, unit_code, "table", code, measure
    """


def _coverage_sql(cat: Catalog) -> str:
    published_keys = (
        f"select distinct fiscal_year, unit_code from {PUBLISHED_TABLE}"
        if cat.has(PUBLISHED_TABLE)
        else "select null::integer as fiscal_year, null::varchar as unit_code where false"
    )
    return f"""
        with lines as ({BUDGET_LINES_SQL}),
        budgeted as (select distinct fiscal_year, unit_code from lines),
        published as ({published_keys})
        select coalesce(b.fiscal_year, p.fiscal_year) as fiscal_year,
            coalesce(b.unit_code, p.unit_code) as unit_code,
            b.unit_code is not null as has_lines,
            p.unit_code is not null as has_published
        from budgeted b
        full join published p on b.fiscal_year = p.fiscal_year and b.unit_code = p.unit_code
        order by 1, 2
    """


def _coverage_note(df) -> str:
    def units(rows) -> str:
        return ", ".join(f"{r.unit_code}/{r.fiscal_year}" for r in rows.itertuples()) or "none"

    checked = df[df.has_lines & df.has_published]
    missing = df[df.has_lines & ~df.has_published]
    orphans = df[~df.has_lines & df.has_published]
    text = f"published tables checked for (unit/year) {units(checked)}; "
    text += f"budget lines without published tables: {units(missing)}"
    if len(orphans):
        text += f"; published tables without budget lines: {units(orphans)}"
    return text


def _indicator_views_sql() -> str:
    cols = []
    for what, src in (("budget", "denominator"), ("executed", "numerator")):
        for name, pattern in (
            ("function_classes", r"function:\d{3}"),
            ("function_sections", r"function:\d{5}"),
            ("function_items", r"function:\d{7}"),
            ("economic_classes", r"economic:\d{3}"),
            ("economic_sections", r"economic:\d{5}"),
        ):
            cols.append(
                f"coalesce(sum({src}) filter (where regexp_full_match(scope, '{pattern}')), 0) as {what}_{name}"
            )
        cols.append(f"coalesce(sum({src}) filter (where scope = 'all'), 0) as {what}_all")
    return f"""
        select grain, period, {", ".join(cols)}
        from marts.fct_indicators
        where indicator = 'budget_execution_rate'
        group by all
        order by all
    """


def _indicator_views_expectations() -> list:
    return [
        equal(f"{what}_{a}", f"{what}_{b}", f"{label} (budget_execution_rate {cn}, per period)")
        for what, cn in (("budget", "adjusted budget"), ("executed", "executed"))
        for a, b, label in (
            ("function_classes", "all", "function-view total = total"),
            ("function_classes", "function_sections", "function 类 = Σ款 = Σ项: 类 = Σ款"),
            ("function_sections", "function_items", "function 类 = Σ款 = Σ项: 款 = Σ项"),
            ("economic_classes", "economic_sections", "economic 类 = Σ款"),
            ("function_classes", "economic_classes", "function-view total = economic-view total"),
        )
    ]


def _published_expectations() -> list:
    label = "published tables reproduced (±0.01 万元 a row, 元 exact; any unit and year)"
    return [all_true("within_tolerance", label)]


def _payment_line_expectations() -> list:
    return [all_true("line_found", "every payment is against an existing budget line")]


def budget() -> Suite:
    both = (LINES, PAYMENTS)
    return Suite(
        "budget",
        [
            accounting_check("budget_lines", LINES, line_id.sql()),
            accounting_check("payments", PAYMENTS, "nullif(trim(payment_id), '')"),
            _hierarchy_check("function"),
            _hierarchy_check("economic"),
            Check(
                "per_unit",
                PER_UNIT_SQL,
                _per_unit_expectations,
                requires=both,
                index=("fiscal_year", "unit_code"),
                description="Per fiscal year and unit: the classification views, expense types and execution.",
            ),
            Check(
                "per_line",
                PER_LINE_SQL,
                _per_line_expectations,
                requires=both,
                index=("line_id",),
                description="Per budget line: adjusted budget and net payments.",
            ),
            Check(
                "payment_lines",
                PAYMENT_LINES_SQL,
                _payment_line_expectations,
                requires=both,
                index=("payment_id", "line_id"),
                description="Every payment and whether its budget line exists.",
            ),
            Check(
                "indicator_views",
                _indicator_views_sql(),
                _indicator_views_expectations,
                requires=("marts.fct_indicators",),
                index=("grain", "period"),
                description="budget_execution_rate by function 类/款/项 and economic 类/款 scopes sum to each other and to all.",
            ),
            Check(
                "classification_names",
                _names_sql(),
                _names_expectations,
                requires=("marts.dim_function", "marts.dim_economic"),
                index=("classification", "code"),
                description="Function and economic codes in use that no reference seed and no budget line names.",
                listing="shown",
            ),
            Check(
                "published_tables",
                _published_sql,
                _published_expectations,
                requires=(LINES,),
                index=("fiscal_year", "unit_code", "table", "code", "measure", "diff"),
                description="Initial amounts aggregated to every imported published table, per unit and year.",
            ),
            Check(
                "published_coverage",
                _coverage_sql,
                list,
                requires=(LINES,),
                description="Which (unit, year) the published tables were checked for, and which had none.",
                note=_coverage_note,
            ),
        ],
        "Budget lines and payments: hierarchies, views, execution and the published budget.",
    )
