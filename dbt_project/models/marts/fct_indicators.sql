{#- Every indicator the warehouse serves, one row per (indicator, grain, period, scope). -#}
with

case_indicators as (
    select * from {{ ref('fct_case_indicators') }}
)

select * from case_indicators
