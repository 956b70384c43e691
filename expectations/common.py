"""What the four suites share: severities, the expectation builders and the accounting check.

Every expectation carries ``meta = {"label", "severity"}``: ``error`` stops publication,
``warning`` is reported. GX is imported lazily (importing it is slow), when a check builds its
expectations.
"""

from __future__ import annotations

from expectations.gate import Check

ERROR, WARNING = "error", "warning"


def meta(label: str, severity: str = ERROR) -> dict:
    return {"label": label, "severity": severity}


def gx_expectations():
    import great_expectations as gx

    return gx.expectations


def column(name: str):
    """A GX row condition's column (``column("kind") == "api"``)."""
    from great_expectations.expectations.row_conditions import Column

    return Column(name)


def sql_list(values) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def equal(a: str, b: str, label: str, severity: str = ERROR, **kwargs):
    """Column a = column b on every row."""
    return gx_expectations().ExpectColumnPairValuesToBeEqual(
        column_A=a, column_B=b, meta=meta(label, severity), **kwargs
    )


def at_least(a: str, b: str, label: str, severity: str = ERROR, **kwargs):
    """Column a ≥ column b on every row."""
    return gx_expectations().ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=a, column_B=b, or_equal=True, meta=meta(label, severity), **kwargs
    )


def between(col: str, label: str, severity: str = ERROR, **kwargs):
    """Column col within min_value / max_value (either may be left out) on every row."""
    return gx_expectations().ExpectColumnValuesToBeBetween(column=col, meta=meta(label, severity), **kwargs)


def all_true(col: str, label: str, severity: str = ERROR):
    """A boolean column true on every row."""
    return gx_expectations().ExpectColumnValuesToBeInSet(
        column=col, value_set=[True], meta=meta(label, severity)
    )


def accounting_check(source: str, mart: str, id_sql: str) -> Check:
    """Every row read is loaded (the mart's current version), superseded or quarantined."""

    def expectations() -> list:
        return [
            equal(
                "accounted",
                "rows_read",
                "every row read is accounted for (loaded + superseded + quarantined = read)",
            ),
            equal("loaded", "distinct_ids", f"{mart.split('.')[-1]} count = distinct valid ids landed"),
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
