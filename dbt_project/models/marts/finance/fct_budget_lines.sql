{#-
    One row per budget line (预算指标): its latest version (greatest updated_at) with the
    initial (年初预算数) and adjusted (调整后预算数) amounts, the function 类/款 codes, the
    economic 类 code, and whether it is 基本支出 (人员经费, 公用经费) or 项目支出. Decimal yuan.
-#}
with

versions as (
    select * from {{ ref('stg_finance__budget_lines') }}
),

counted as (
    select
        *,
        count(*) over (partition by line_id) as version_count,
        min(updated_at) over (partition by line_id) as first_updated_at
    from versions
),

latest as (
    select *
    from counted
    qualify row_number() over (partition by line_id order by updated_at desc) = 1
),

final as (
    select
        line_id,
        fiscal_year,
        dept_code,
        dept_name,
        unit_code,
        unit_name,
        project_code,
        project_name,
        {{ classification_columns(names=true) }},
        expense_type,
        case when expense_type = '项目支出' then '项目支出' else '基本支出' end as expense_category,
        expense_type != '项目支出' as is_basic,
        fund_source,
        initial_amount,
        adjusted_amount,
        version_count,
        first_updated_at,
        updated_at
    from latest
)

select * from final
