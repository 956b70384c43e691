{#-
    The distinct versions of a finance record (budget line or payment), keyed: `line_id` (the
    budget line's key, macro finance_line_id) first, then every column of `typed`; one row per
    (key, updated_at). Exact duplicates of a version (the same version re-landed) keep the
    latest load, then the first by (batch, row).
-#}
{% macro finance_versions(typed, key) -%}
    select
        {{ finance_line_id() }} as line_id,
        *
    from {{ typed }}
    qualify row_number() over (partition by {{ key }}, updated_at order by _loaded_at desc, _batch asc, _row asc) = 1
{%- endmacro %}
