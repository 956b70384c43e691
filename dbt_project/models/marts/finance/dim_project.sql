{#-
    One row per project (项目支出 project_code) with its name and unit, from the latest
    version of its budget lines, and the fiscal years it has lines in.
-#}
with

lines as (
    select * from {{ ref('stg_finance__budget_lines') }}
    where project_code is not null
),

years as (
    select
        project_code,
        min(fiscal_year) as first_fiscal_year,
        max(fiscal_year) as last_fiscal_year
    from lines
    group by project_code
),

latest as (
    select *
    from lines
    qualify row_number() over (
        partition by project_code order by fiscal_year desc, updated_at desc, line_id asc
    ) = 1
),

final as (
    select
        latest.project_code,
        latest.project_name,
        latest.dept_code,
        latest.dept_name,
        latest.unit_code,
        latest.unit_name,
        years.first_fiscal_year,
        years.last_fiscal_year
    from latest
    inner join years on latest.project_code = years.project_code
)

select * from final
