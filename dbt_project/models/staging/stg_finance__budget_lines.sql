{#-
    Every distinct version of every budget line (预算指标), typed. Amounts are decimal yuan,
    never float. A blank project_code (基本支出) becomes null. `line_id` joins the line's key
    fields (sources.md §2) with '|' so payments can find their line without null-safe joins.
-#}
{% call finance_versions('budget_lines', 'line_id') -%}
    cast(fiscal_year as integer) as fiscal_year,
    dept_code,
    dept_name,
    unit_code,
    unit_name,
    nullif(trim(project_code), '') as project_code,
    nullif(trim(project_name), '') as project_name,
    function_code,
    function_name,
    economic_code,
    economic_name,
    expense_type,
    fund_source,
    cast(initial_amount as decimal(18, 2)) as initial_amount,
    cast(adjusted_amount as decimal(18, 2)) as adjusted_amount
{%- endcall %}
