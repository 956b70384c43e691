{#- The key of a budget line as one text: a payment finds its budget line by it.
    Its Python twin, on raw columns, is minhu/line_id.py (why two: finance_line_id.md). -#}
{% macro finance_line_id() -%}
    concat_ws(
        '|',
        fiscal_year,
        unit_code,
        coalesce(project_code, ''),
        function_code,
        economic_code,
        fund_source,
        expense_type
    )
{%- endmacro %}
