"""The suites, one per boundary. Each expectation names its severity and a readable label.

- ``raw_landing``: per source and window (batch): schema, required fields, types, value sets,
  unique (id, updated_at), landed count = source count, every row read in raw or quarantined.
- ``cases``: every row read is accounted for, fct_cases = distinct case ids landed, case_count
  by channel / street / case type sums to the total, timestamps in order.
- ``budget``: per fiscal year and unit: the function (类/款/项) and economic (类/款)
  hierarchies summed by code prefix (no closed list of codes), function view = economic view,
  基本支出 = 人员经费 + 公用经费, Σ projects = 项目支出, execution within the adjusted budget,
  payments net of refunds ≥ 0 and against existing lines, every imported published table
  reproduced (any unit and year; a note says which were checked and which had none), and a
  warning listing the codes in use that nothing names ("科目 2089999").
- ``indicators``: rates in [0, 1], numerator ≤ denominator, additive period totals = Σ days.

Severity: ``error`` stops publication, ``warning`` is reported. Aggregates are pushed into SQL
so each check hands GX a small DataFrame; where only the violating rows matter (timestamps,
rates) the query selects those rows and GX validates them (an empty frame passes).
"""

from __future__ import annotations

from expectations.gate import Catalog, Check, Suite
from minhu import published, schemas

ERROR, WARNING = "error", "warning"


def _meta(label: str, severity: str = ERROR) -> dict:
    return {"label": label, "severity": severity}


def _e():
    import great_expectations as gx

    return gx.expectations


def _column(name: str):
    from great_expectations.expectations.row_conditions import Column

    return Column(name)


def _sql_list(values) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


# ------------------------------------------------------------------------------------ raw landing

# Codes of the classifications as they appear on a line: 项 (7 digits) and 款 (5 digits).
CODE_PATTERNS = {"function_code": r"\d{7}", "economic_code": r"\d{5}"}
CASTS = {
    "datetime": "timestamptz",
    "date": "date",
    "int": "bigint",
    "decimal": "decimal(18, 2)",
    "bool": "boolean",
}


def _present(col: str) -> str:
    return f"nullif(trim({col}), '') is not null"


def field_rules(source: str) -> list[tuple[str, str, str]]:
    """(field, rule, SQL condition of a bad value) for every field of a source's contract."""
    rules = []
    for f in schemas.fields(source):
        col = f'"{f.key}"'
        if f.required:
            rules.append((f.key, "required", f"not {_present(col)}"))
        if f.type in CASTS:
            rules.append((f.key, "type", f"{_present(col)} and try_cast({col} as {CASTS[f.type]}) is null"))
        if f.values:
            rules.append((f.key, "value_set", f"{_present(col)} and {col} not in ({_sql_list(f.values)})"))
        if f.key in CODE_PATTERNS:
            rules.append(
                (
                    f.key,
                    "value_set",
                    f"{_present(col)} and not regexp_full_match({col}, '{CODE_PATTERNS[f.key]}')",
                )
            )
    return rules


def _value_set_fields(source: str) -> list[str]:
    """The fields of a source checked against a value set: enums and classification codes."""
    return [f.key for f in schemas.fields(source) if f.values or f.key in CODE_PATTERNS]


def _line_id(alias: str = "") -> str:
    """A budget line's key, as stg_finance__budget_lines builds `line_id` (empty project = none)."""
    p = f"{alias}." if alias else ""
    parts = [
        f"try_cast({p}fiscal_year as integer)",
        f"{p}unit_code",
        f"coalesce(nullif(trim({p}project_code), ''), '')",
        f"{p}function_code",
        f"{p}economic_code",
        f"{p}fund_source",
        f"{p}expense_type",
    ]
    return f"concat_ws('|', {', '.join(parts)})"


def record_id(source: str) -> str:
    """The SQL of a raw record's id (SOURCES[source]['id'])."""
    if source == "budget_lines":
        return _line_id()
    (key,) = schemas.SOURCES[source]["id"]
    return f'"{key}"'


def _fields_sql(source: str) -> str:
    counts = ",\n".join(
        f'count(*) filter (where {cond}) as "{key}|{rule}"' for key, rule, cond in field_rules(source)
    )
    return f"""
        with per_batch as (
            select _batch as batch,
            {counts}
            from raw.{source}
            group by _batch
        ),
        long as (
            unpivot per_batch on columns(* exclude (batch)) into name rule_key value bad_rows
        )
        select batch, split_part(rule_key, '|', 1) as field, split_part(rule_key, '|', 2) as rule, bad_rows
        from long
        order by batch, field, rule
    """


def _fields_check(source: str) -> Check:
    def expectations() -> list:
        e = _e()
        where = "in the raw records (per source and window)"
        return [
            e.ExpectColumnValuesToBeBetween(
                column="bad_rows",
                min_value=0,
                max_value=0,
                row_condition=_column("rule") == rule,
                meta=_meta(f"{source}: {text} {where}"),
            )
            for rule, text in (
                ("required", "required fields present"),
                ("type", "values parse as their types"),
                ("value_set", f"values in their value sets ({', '.join(_value_set_fields(source))})"),
            )
        ]

    return Check(
        f"{source}_fields",
        _fields_sql(source),
        expectations,
        requires=(f"raw.{source}",),
        index=("batch", "field"),
        description=f"Per batch of raw.{source}: rows whose field is missing, unparseable or out of its value set.",
    )


def _schema_check(source: str) -> Check:
    columns = [*schemas.keys(source), "_batch", "_row", "_loaded_at"]

    def expectations() -> list:
        return [
            _e().ExpectTableColumnsToMatchSet(
                column_set=columns,
                exact_match=True,
                meta=_meta(f"{source}: raw columns are the source contract (schema)"),
            )
        ]

    return Check(
        f"{source}_schema", f"select * from raw.{source} limit 0", expectations, requires=(f"raw.{source}",)
    )


def _unique_check(source: str) -> Check:
    """An API window carries each version once. An archive export may repeat a row: an exact
    duplicate is accounted as superseded, but two different records under one (id, updated_at)
    are ambiguous in any batch."""

    def expectations() -> list:
        e = _e()
        return [
            e.ExpectColumnValuesToBeBetween(
                column="copies",
                max_value=1,
                row_condition=_column("kind") == "api",
                meta=_meta(f"{source}: unique (id, updated_at) per source and window"),
            ),
            e.ExpectColumnValuesToBeBetween(
                column="contents",
                max_value=1,
                meta=_meta(f"{source}: one record per (id, updated_at) per batch (repeats must be exact)"),
            ),
        ]

    content = ", ".join(f'coalesce("{k}", chr(1))' for k in schemas.keys(source))
    sql = f"""
        select
            _batch as batch,
            split_part(_batch, '/', 1) as kind,
            {record_id(source)} as record_id,
            updated_at,
            count(*) as copies,
            count(distinct concat_ws(chr(31), {content})) as contents
        from raw.{source}
        group by all
        having count(*) > 1
        order by all
    """
    return Check(
        f"{source}_unique_versions",
        sql,
        expectations,
        requires=(f"raw.{source}",),
        index=("batch", "record_id", "updated_at"),
        description="Versions landed more than once in the same batch (only those rows are selected).",
    )


def _landings_sql() -> str:
    raw_rows = " union all ".join(
        f"select _batch, count(*) as n from raw.{s} group by _batch" for s in schemas.SOURCES
    )
    return f"""
        with raw_rows as ({raw_rows})
        select
            l.batch,
            l.source,
            l.kind,
            l.landed_count,
            coalesce(l.source_count, l.landed_count + l.quarantined) as rows_read,
            l.quarantined,
            l.loaded_rows,
            coalesce(r.n, 0) as raw_rows,
            coalesce(r.n, 0) + l.quarantined as in_raw_or_quarantined
        from raw.landings l
        left join raw_rows r on r._batch = l.batch
        order by l.batch
    """


def raw_landing() -> Suite:
    def landing_expectations() -> list:
        e = _e()
        return [
            e.ExpectColumnPairValuesToBeEqual(
                column_A="landed_count",
                column_B="rows_read",
                row_condition=_column("kind") == "api",
                meta=_meta("landed count = source count (per source and window)"),
            ),
            e.ExpectColumnPairValuesToBeEqual(
                column_A="loaded_rows",
                column_B="landed_count",
                row_condition=_column("kind") == "api",
                meta=_meta("rows loaded into raw = records landed (per batch)"),
            ),
            e.ExpectColumnPairValuesToBeEqual(
                column_A="in_raw_or_quarantined",
                column_B="rows_read",
                meta=_meta("every row read is in raw or quarantined (per batch)"),
            ),
        ]

    checks = [
        Check(
            "landings",
            _landings_sql(),
            landing_expectations,
            requires=("raw.landings", *(f"raw.{s}" for s in schemas.SOURCES)),
            index=("batch",),
            description="One row per landed batch: what the source counted, what was landed, loaded and quarantined.",
        )
    ]
    for source in schemas.SOURCES:
        checks += [_schema_check(source), _fields_check(source), _unique_check(source)]
    return Suite(
        "raw_landing",
        checks,
        "Per source and window: the landing reconciles and the records keep the contract.",
    )


# ------------------------------------------------------------------------------------ accounting


def _accounting_check(source: str, mart: str, id_sql: str) -> Check:
    """Every row read is loaded (the mart's current version), superseded or quarantined."""

    def expectations() -> list:
        e = _e()
        return [
            e.ExpectColumnPairValuesToBeEqual(
                column_A="accounted",
                column_B="rows_read",
                meta=_meta("every row read is accounted for (loaded + superseded + quarantined = read)"),
            ),
            e.ExpectColumnPairValuesToBeEqual(
                column_A="loaded",
                column_B="distinct_ids",
                meta=_meta(f"{mart.split('.')[-1]} count = distinct valid ids landed"),
            ),
        ]

    sql = f"""
        with landed as (
            select
                coalesce(sum(coalesce(source_count, landed_count + quarantined)), 0) as rows_read,
                coalesce(sum(quarantined), 0) as quarantined
            from raw.landings
            where source = '{source}'
        ),
        ids as (
            select {id_sql} as record_id from raw.{source}
        ),
        raw_counts as (
            select
                count(*) filter (where record_id is not null and record_id != '') as rows_with_id,
                count(distinct record_id) filter (where record_id is not null and record_id != '') as distinct_ids
            from ids
        ),
        mart as (
            select count(*) as loaded from {mart}
        )
        select
            '{source}' as source,
            landed.rows_read,
            mart.loaded,
            raw_counts.rows_with_id - raw_counts.distinct_ids as superseded,
            landed.quarantined,
            mart.loaded + raw_counts.rows_with_id - raw_counts.distinct_ids + landed.quarantined as accounted,
            raw_counts.distinct_ids
        from landed, raw_counts, mart
    """
    return Check(
        f"{source}_accounting",
        sql,
        expectations,
        requires=("raw.landings", f"raw.{source}", mart),
        description=f"raw.{source} and {mart}: read = loaded + superseded + quarantined.",
    )


# ----------------------------------------------------------------------------------------- cases


def _case_breakdown_sql() -> str:
    return f"""
        with indicator as (
            select
                grain,
                period,
                coalesce(sum(numerator) filter (where scope = 'all'), 0) as total,
                coalesce(sum(numerator) filter (where scope like 'channel:%'), 0) as by_channel,
                coalesce(sum(numerator) filter (where scope like 'street:%'), 0) as by_street
            from marts.fct_indicators
            where indicator = 'case_count'
            group by all
        ),
        received as (
            select
                g.grain,
                case g.grain
                    when 'day' then strftime(c.received_date, '%Y-%m-%d')
                    when 'week' then strftime(c.received_date, '%G-W%V')
                    when 'month' then strftime(c.received_date, '%Y-%m')
                    else strftime(c.received_date, '%Y')
                end as period,
                count(*) as fct_cases_received,
                count(*) filter (where c.case_type in ({_sql_list(schemas.CASE_TYPES)})) as by_case_type
            from marts.fct_cases c
            cross join (values ('day'), ('week'), ('month'), ('year')) as g (grain)
            group by all
        )
        select
            coalesce(i.grain, r.grain) as grain,
            coalesce(i.period, r.period) as period,
            cast(coalesce(i.total, 0) as bigint) as total,
            cast(coalesce(i.by_channel, 0) as bigint) as by_channel,
            cast(coalesce(i.by_street, 0) as bigint) as by_street,
            coalesce(r.by_case_type, 0) as by_case_type,
            coalesce(r.fct_cases_received, 0) as fct_cases_received
        from indicator i
        full join received r on i.grain = r.grain and i.period = r.period
        order by 1, 2
    """


TIME_ORDER = ("received_at", "dispatched_at", "closed_at", "visited_at")


def cases() -> Suite:
    def breakdown_expectations() -> list:
        e = _e()
        return [
            e.ExpectColumnPairValuesToBeEqual(
                column_A=col, column_B="total", meta=_meta(f"case_count by {what} sums to the total")
            )
            for col, what in (
                ("by_channel", "channel"),
                ("by_street", "street"),
                ("by_case_type", "case type"),
                ("fct_cases_received", "received date in fct_cases"),
            )
        ]

    def order_expectations() -> list:
        e = _e()
        label = "timestamps in order (received ≤ dispatched ≤ closed ≤ visited)"
        pairs = [(a, b) for i, a in enumerate(TIME_ORDER) for b in TIME_ORDER[i + 1 :]]
        return [
            e.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=later,
                column_B=earlier,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
                meta=_meta(f"{label}: {earlier.removesuffix('_at')} ≤ {later.removesuffix('_at')}"),
            )
            for earlier, later in pairs
        ]

    times = ", ".join(TIME_ORDER)
    order_sql = f"""
        select case_id, {times}
        from marts.fct_cases
        where list_filter([{times}], t -> t is not null)
            != list_sort(list_filter([{times}], t -> t is not null))
        order by case_id
    """
    return Suite(
        "cases",
        [
            _accounting_check("cases", "marts.fct_cases", "nullif(trim(case_id), '')"),
            Check(
                "case_count_breakdowns",
                _case_breakdown_sql(),
                breakdown_expectations,
                requires=("marts.fct_indicators", "marts.fct_cases"),
                index=("grain", "period"),
                description="case_count per period: the total, the sums over channels and streets, and fct_cases by case type.",
            ),
            Check(
                "timestamps_in_order",
                order_sql,
                order_expectations,
                requires=("marts.fct_cases",),
                index=("case_id",),
                description="Cases whose times are out of order (only those rows are selected); flagged, never fixed.",
            ),
        ],
        "The case marts reconcile with what was landed.",
    )


# ---------------------------------------------------------------------------------------- budget


def budget_lines_sql(cat: Catalog) -> str:
    """The latest version of every budget line: the mart when it exists, else raw typed here."""
    if cat.has("marts.fct_budget_lines"):
        return """
            select line_id, fiscal_year, unit_code, project_code, function_code, economic_code,
                expense_type, fund_source, initial_amount, adjusted_amount
            from marts.fct_budget_lines
        """
    return f"""
        select {_line_id()} as line_id,
            try_cast(fiscal_year as integer) as fiscal_year, unit_code,
            nullif(trim(project_code), '') as project_code, function_code, economic_code,
            expense_type, fund_source,
            try_cast(initial_amount as decimal(18, 2)) as initial_amount,
            try_cast(adjusted_amount as decimal(18, 2)) as adjusted_amount
        from raw.budget_lines
        qualify row_number() over (
            partition by {_line_id()} order by try_cast(updated_at as timestamptz) desc
        ) = 1
    """


def payments_sql(cat: Catalog) -> str:
    """The latest version of every payment: the mart when it exists, else raw typed here."""
    if cat.has("marts.fct_payments"):
        return "select payment_id, line_id, fiscal_year, unit_code, amount from marts.fct_payments"
    return f"""
        select payment_id, {_line_id()} as line_id, try_cast(fiscal_year as integer) as fiscal_year,
            unit_code, try_cast(amount as decimal(18, 2)) as amount
        from raw.payments
        qualify row_number() over (
            partition by payment_id order by try_cast(updated_at as timestamptz) desc
        ) = 1
    """


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

    def sql(cat: Catalog) -> str:
        return f"""
            with lines as ({budget_lines_sql(cat)}),
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
        e = _e()
        chain = " = ".join([LEVEL_CN["class"], *[f"Σ{LEVEL_CN[n]}" for n in names[1:]]])
        label = f"{kind} {chain} (per fiscal year, unit and 类)"
        out = [
            e.ExpectColumnPairValuesToBeEqual(
                column_A="lines",
                column_B="classified_lines",
                meta=_meta(
                    f"every budget line's {kind} code has {levels[-1]} digits (counted at every level)"
                ),
            ),
            e.ExpectColumnPairValuesToBeEqual(
                column_A="class_amount", column_B="lines_amount", meta=_meta(f"{label}: 类 = Σ lines")
            ),
        ]
        for upper, lower in zip(names, names[1:], strict=False):
            out.append(
                e.ExpectColumnPairValuesToBeEqual(
                    column_A=f"{upper}_amount",
                    column_B=f"{lower}_amount",
                    meta=_meta(f"{label}: {LEVEL_CN[upper]} = Σ{LEVEL_CN[lower]}"),
                )
            )
        return out

    return Check(
        f"{kind}_hierarchy",
        sql,
        expectations,
        requires=("raw.budget_lines",),
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


def _names_check() -> Check:
    """Codes in use that neither the reference seeds nor the lines name: a warning listing them."""

    def expectations() -> list:
        return [
            _e().ExpectTableRowCountToEqual(
                value=0,
                meta=_meta(
                    "every classification code in use has a name (reference seed or the line)", WARNING
                ),
            )
        ]

    return Check(
        "classification_names",
        _names_sql(),
        expectations,
        requires=("marts.dim_function", "marts.dim_economic"),
        index=("classification", "code"),
        description="Function and economic codes in use that no reference seed and no budget line names.",
        listing="shown",
    )


def _per_unit_sql(cat: Catalog) -> str:
    fn_known = _well_formed("function")
    ec_known = _well_formed("economic")
    return f"""
        with lines as ({budget_lines_sql(cat)}),
        payments as ({payments_sql(cat)}),
        budget as (
            select fiscal_year, unit_code,
                coalesce(sum(adjusted_amount), 0) as adjusted_budget,
                coalesce(sum(adjusted_amount) filter (where {fn_known}), 0) as function_view,
                coalesce(sum(adjusted_amount) filter (where {ec_known}), 0) as economic_view,
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
    e = _e()
    pair = e.ExpectColumnPairValuesToBeEqual
    return [
        pair(
            column_A="function_view",
            column_B="economic_view",
            meta=_meta("function-view total = economic-view total (per fiscal year and unit)"),
        ),
        pair(
            column_A="basic",
            column_B="personnel_plus_public",
            meta=_meta("基本支出 = 人员经费 + 公用经费 (per fiscal year and unit): amounts"),
        ),
        pair(
            column_A="basic_lines",
            column_B="personnel_public_lines",
            meta=_meta("基本支出 = 人员经费 + 公用经费 (per fiscal year and unit): lines"),
        ),
        pair(
            column_A="projects",
            column_B="project_expense",
            meta=_meta("Σ projects = 项目支出 (per fiscal year and unit): amounts"),
        ),
        pair(
            column_A="project_lines",
            column_B="project_expense_lines",
            meta=_meta("Σ projects = 项目支出 (per fiscal year and unit): lines"),
        ),
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="adjusted_budget",
            column_B="executed",
            or_equal=True,
            meta=_meta("executed ≤ adjusted budget per unit"),
        ),
    ]


def _per_line_sql(cat: Catalog) -> str:
    return f"""
        with lines as ({budget_lines_sql(cat)}),
        payments as ({payments_sql(cat)}),
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
    e = _e()
    return [
        e.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="adjusted_amount",
            column_B="executed",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta=_meta("executed ≤ adjusted budget per line", WARNING),
        ),
        e.ExpectColumnValuesToBeBetween(
            column="executed", min_value=0, meta=_meta("payments net of refunds ≥ 0 per line")
        ),
    ]


def _payment_lines_sql(cat: Catalog) -> str:
    return f"""
        with lines as ({budget_lines_sql(cat)}),
        payments as ({payments_sql(cat)})
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
        with lines as ({budget_lines_sql(cat)}),
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
        with lines as ({budget_lines_sql(cat)}),
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
    e = _e()
    out = []
    for what, cn in (("budget", "adjusted budget"), ("executed", "executed")):
        for a, b, label in (
            ("function_classes", "all", "function-view total = total"),
            ("function_classes", "function_sections", "function 类 = Σ款 = Σ项: 类 = Σ款"),
            ("function_sections", "function_items", "function 类 = Σ款 = Σ项: 款 = Σ项"),
            ("economic_classes", "economic_sections", "economic 类 = Σ款"),
            ("function_classes", "economic_classes", "function-view total = economic-view total"),
        ):
            out.append(
                e.ExpectColumnPairValuesToBeEqual(
                    column_A=f"{what}_{a}",
                    column_B=f"{what}_{b}",
                    meta=_meta(f"{label} (budget_execution_rate {cn}, per period)"),
                )
            )
    return out


def budget() -> Suite:
    def published_expectations() -> list:
        return [
            _e().ExpectColumnValuesToBeInSet(
                column="within_tolerance",
                value_set=[True],
                meta=_meta("published tables reproduced (±0.01 万元 a row, 元 exact; any unit and year)"),
            )
        ]

    def payment_line_expectations() -> list:
        return [
            _e().ExpectColumnValuesToBeInSet(
                column="line_found",
                value_set=[True],
                meta=_meta("every payment is against an existing budget line"),
            )
        ]

    line_id = _line_id()
    return Suite(
        "budget",
        [
            _accounting_check("budget_lines", "marts.fct_budget_lines", line_id),
            _accounting_check("payments", "marts.fct_payments", "nullif(trim(payment_id), '')"),
            _hierarchy_check("function"),
            _hierarchy_check("economic"),
            Check(
                "per_unit",
                _per_unit_sql,
                _per_unit_expectations,
                requires=("raw.budget_lines", "raw.payments"),
                index=("fiscal_year", "unit_code"),
                description="Per fiscal year and unit: the classification views, expense types and execution.",
            ),
            Check(
                "per_line",
                _per_line_sql,
                _per_line_expectations,
                requires=("raw.budget_lines", "raw.payments"),
                index=("line_id",),
                description="Per budget line: adjusted budget and net payments.",
            ),
            Check(
                "payment_lines",
                _payment_lines_sql,
                payment_line_expectations,
                requires=("raw.budget_lines", "raw.payments"),
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
            _names_check(),
            Check(
                "published_tables",
                _published_sql,
                published_expectations,
                requires=("raw.budget_lines",),
                index=("fiscal_year", "unit_code", "table", "code", "measure", "diff"),
                description="Initial amounts aggregated to every imported published table, per unit and year.",
            ),
            Check(
                "published_coverage",
                _coverage_sql,
                list,
                requires=("raw.budget_lines",),
                description="Which (unit, year) the published tables were checked for, and which had none.",
                note=_coverage_note,
            ),
        ],
        "Budget lines and payments: hierarchies, views, execution and the published budget.",
    )


# ------------------------------------------------------------------------------------ indicators

# Definitions that add up over days: (indicator, the additive column).
ADDITIVE = (("case_count", "numerator"), ("close_rate", "denominator"), ("visit_rate", "denominator"))


def _additive_sql() -> str:
    pick = " ".join(f"when '{i}' then {col}" for i, col in ADDITIVE)
    names = _sql_list(i for i, _ in ADDITIVE)
    return f"""
        with rows as (
            select indicator, grain, period, scope, period_start, period_end, case indicator {pick} end as amount
            from marts.fct_indicators
            where indicator in ({names})
        ),
        days as (select * from rows where grain = 'day')
        select p.indicator, p.grain, p.period, p.scope,
            cast(p.amount as bigint) as period_total,
            cast(coalesce(sum(d.amount), 0) as bigint) as sum_of_days
        from rows p
        left join days d
            on d.indicator = p.indicator and d.scope = p.scope
            and d.period_start >= p.period_start and d.period_start < p.period_end
        where p.grain != 'day'
        group by all
        order by all
    """


def _rates_sql(units: str) -> str:
    return f"""
        select indicator, grain, period, scope, numerator, denominator, value
        from marts.fct_indicators
        where numerator_unit = denominator_unit and indicator != 'execution_gap'
            and numerator_unit {units}
            and (value < 0 or value > 1 or numerator > denominator or numerator < 0)
        order by all
    """


def indicators() -> Suite:
    def rate_expectations(severity: str, what: str):
        def build() -> list:
            e = _e()
            return [
                e.ExpectColumnValuesToBeBetween(
                    column="value",
                    min_value=0,
                    max_value=1,
                    meta=_meta(f"every {what} rate in [0, 1]", severity),
                ),
                e.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="denominator",
                    column_B="numerator",
                    or_equal=True,
                    meta=_meta(f"{what} rates: numerator ≤ denominator", severity),
                ),
            ]

        return build

    def additive_expectations() -> list:
        return [
            _e().ExpectColumnPairValuesToBeEqual(
                column_A="period_total",
                column_B="sum_of_days",
                meta=_meta("period totals = Σ of their days (additive definitions)"),
            )
        ]

    index = ("indicator", "grain", "period", "scope")
    return Suite(
        "indicators",
        [
            # case and calendar rates: an error; budget execution above 100% on a line is a
            # warning (the unit-level overspend is the budget suite's error)
            Check(
                "rates",
                _rates_sql("!= 'yuan'"),
                rate_expectations(ERROR, "case"),
                ("marts.fct_indicators",),
                index,
            ),
            Check(
                "budget_rates",
                _rates_sql("= 'yuan'"),
                rate_expectations(WARNING, "budget execution"),
                ("marts.fct_indicators",),
                index,
            ),
            Check(
                "additive_totals",
                _additive_sql(),
                additive_expectations,
                ("marts.fct_indicators",),
                index,
                "Week, month and year totals of additive definitions against the sum of their days.",
            ),
        ],
        "The indicators the reports read are coherent.",
    )


def all_suites() -> list[Suite]:
    return [raw_landing(), cases(), budget(), indicators()]
