{#-
    Budget and spending by month at (fiscal_year, month, unit_code, project_code,
    function_code, economic_code, expense_type), summed over fund sources. Every line gets a
    row for each of the 12 months of its fiscal year (a dense month spine), so the year-to-date
    figure is right in months without payments.

    - initial_budget: the line's 年初预算数.
    - adjusted_budget: the 调整后预算数 in force at the end of the month (the latest version
      with updated_at before the month's end, Asia/Shanghai); before the first version we
      know of, the 年初预算数. So a past month keeps the budget it had.
    - executed_month / executed_ytd: net payments (refunds are negative) by pay_date month,
      and their running total from January. A payment dated outside its fiscal year counts in
      January or December of that fiscal year.
    A line that payments name but no budget line carries has budget 0.
-#}
{%- set line_columns = 'line_id, fiscal_year, unit_code, project_code, function_code, economic_code, expense_type' %}
with

versions as (
    select * from {{ ref('stg_finance__budget_lines') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

lines as (
    select {{ line_columns }} from versions
    union
    select {{ line_columns }} from payments
),

initial as (
    select
        line_id,
        initial_amount
    from versions
    qualify row_number() over (partition by line_id order by updated_at desc) = 1
),

months as (
    select
        lines.*,
        months.month,
        make_date(lines.fiscal_year, months.month, 1) as month_start,
        timezone(
            'Asia/Shanghai', cast(make_date(lines.fiscal_year, months.month, 1) + interval 1 month as timestamp)
        ) as month_end_at
    from lines
    cross join range(1, 13) as months (month)
),

in_force as (
    select
        months.line_id,
        months.month,
        versions.adjusted_amount
    from months
    inner join versions
        on
            months.line_id = versions.line_id
            and months.month_end_at > versions.updated_at
    qualify row_number() over (partition by months.line_id, months.month order by versions.updated_at desc) = 1
),

paid as (
    select
        line_id,
        case
            when year(pay_date) < fiscal_year then 1
            when year(pay_date) > fiscal_year then 12
            else month(pay_date)
        end as pay_month,
        sum(amount) as executed_month,
        count(*) as payment_count
    from payments
    group by all
),

by_line as (
    select
        months.*,
        coalesce(initial.initial_amount, 0) as initial_budget,
        coalesce(in_force.adjusted_amount, initial.initial_amount, 0) as adjusted_budget,
        coalesce(paid.executed_month, 0) as executed_month,
        coalesce(paid.payment_count, 0) as payment_count,
        sum(coalesce(paid.executed_month, 0)) over (
            partition by months.line_id order by months.month rows between unbounded preceding and current row
        ) as executed_ytd
    from months
    left join initial on months.line_id = initial.line_id
    left join in_force on months.line_id = in_force.line_id and months.month = in_force.month
    left join paid on months.line_id = paid.line_id and months.month = paid.pay_month
),

final as (
    select
        fiscal_year,
        month,
        month_start,
        strftime(month_start, '%Y-%m') as period,
        unit_code,
        project_code,
        {{ classification_columns() }},
        expense_type,
        cast(sum(initial_budget) as decimal(18, 2)) as initial_budget,
        cast(sum(adjusted_budget) as decimal(18, 2)) as adjusted_budget,
        cast(sum(executed_month) as decimal(18, 2)) as executed_month,
        cast(sum(executed_ytd) as decimal(18, 2)) as executed_ytd,
        cast(sum(payment_count) as integer) as payment_count
    from by_line
    group by all
)

select * from final
