{#-
    The distinct versions of a finance record (budget line or payment) of raw.<source_name>,
    typed: the caller's block is the list of typed columns (everything before updated_at);
    then updated_at as timestamptz and the lineage columns. `line_id` (the budget line's key,
    macro finance_line_id) comes first. One row per (key, updated_at): exact duplicates of a
    version (the same version re-landed) keep the latest load, then the first by (batch, row).
    Used as {% call finance_versions('payments', 'payment_id') %} columns… {% endcall %}.
-#}
{% macro finance_versions(source_name, key) -%}
    with

    typed as (
        select
            {{ caller() | trim }},
            cast(updated_at as timestamptz) as updated_at,
            _batch,
            _row,
            _loaded_at
        from {{ source('raw', source_name) }}
    )

    select
        {{ finance_line_id() }} as line_id,
        *
    from typed
    qualify row_number() over (partition by {{ key }}, updated_at order by _loaded_at desc, _batch asc, _row asc) = 1
{%- endmacro %}
