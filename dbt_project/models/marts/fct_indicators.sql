{#- Every indicator the warehouse serves, one row per (indicator, grain, period, scope). -#}
with

case_indicators as (
    select * from {{ ref('fct_case_indicators') }}
),

budget_indicators as (
    select * from {{ ref('fct_budget_indicators') }}
)

select * from case_indicators
union all by name
select * from budget_indicators
