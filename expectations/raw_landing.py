"""The ``raw_landing`` suite: per source and window (batch), the landing reconciles and the
records keep the source contract (minhu/schemas.py): schema, required fields, types, value sets,
unique (id, updated_at), landed count = source count, every row read in raw or quarantined.
"""

from __future__ import annotations

from expectations.common import between, column, equal, gx_expectations, meta, sql_list
from expectations.gate import Check, Suite
from minhu import line_id, schemas

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
            rules.append((f.key, "value_set", f"{_present(col)} and {col} not in ({sql_list(f.values)})"))
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


def record_id(source: str) -> str:
    """The SQL of a raw record's id (SOURCES[source]['id'])."""
    if source == "budget_lines":
        return line_id.sql()
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
        where = "in the raw records (per source and window)"
        return [
            between(
                "bad_rows",
                f"{source}: {text} {where}",
                min_value=0,
                max_value=0,
                row_condition=column("rule") == rule,
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
            gx_expectations().ExpectTableColumnsToMatchSet(
                column_set=columns,
                exact_match=True,
                meta=meta(f"{source}: raw columns are the source contract (schema)"),
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
        return [
            between(
                "copies",
                f"{source}: unique (id, updated_at) per source and window",
                max_value=1,
                row_condition=column("kind") == "api",
            ),
            between(
                "contents",
                f"{source}: one record per (id, updated_at) per batch (repeats must be exact)",
                max_value=1,
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
        return [
            equal(
                "landed_count",
                "rows_read",
                "landed count = source count (per source and window)",
                row_condition=column("kind") == "api",
            ),
            equal(
                "loaded_rows",
                "landed_count",
                "rows loaded into raw = records landed (per batch)",
                row_condition=column("kind") == "api",
            ),
            equal(
                "in_raw_or_quarantined", "rows_read", "every row read is in raw or quarantined (per batch)"
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
