{#-
    Every distinct version of every payment (支付明细), typed. The payee (收款人) may be a
    person: it stops here and is never selected. Amounts are decimal yuan, negative for
    refunds and reversals. A blank project_code (基本支出) becomes null; `line_id` names the
    budget line paid against, built exactly as in stg_finance__budget_lines.
-#}
{% call finance_versions('payments', 'payment_id') -%}
    payment_id,
    cast(pay_date as date) as pay_date,
    cast(fiscal_year as integer) as fiscal_year,
    unit_code,
    nullif(trim(project_code), '') as project_code,
    function_code,
    economic_code,
    fund_source,
    expense_type,
    cast(amount as decimal(18, 2)) as amount,
    summary
{%- endcall %}
