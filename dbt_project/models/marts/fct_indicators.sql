{#-
    Every indicator the warehouse serves, one row per (indicator, grain, period, scope).

    Incremental (delete+insert by (grain, period_start)): a run rewrites the periods
    fct_case_indicators recomputed since this model last ran (intermediate.fct_case_indicators__affected,
    which the post-hook then empties; '*' there means all) and every period of
    fct_budget_indicators (rebuilt whole each run: a few months and years); the post-hook
    deletes the periods neither source has any more. It equals a full refresh row for row.
-#}
{{ config(materialized='incremental', incremental_strategy='delete+insert', on_schema_change='fail') }}
{{ config(unique_key=['grain', 'period_start']) }}
{{ config(post_hook=[
    "delete from {{ this }} as t where not exists (select 1 from (select distinct grain, period_start from {{ ref('fct_case_indicators') }} union select distinct grain, period_start from {{ ref('fct_budget_indicators') }}) as k where k.grain = t.grain and k.period_start = t.period_start)",
    "delete from intermediate.fct_case_indicators__affected",
]) }}

with

case_indicators as (
    select * from {{ ref('fct_case_indicators') }}
),

budget_indicators as (
    select * from {{ ref('fct_budget_indicators') }}
),

{% if is_incremental() %}
budget_periods as (
    select distinct
        grain,
        period_start
    from budget_indicators
),
{% endif %}

case_rows as (
    select *
    from case_indicators
    {% if is_incremental() -%}
        -- the periods fct_case_indicators recomputed, and every budget period (rewritten whole)
        where
            {{ case_indicators_affected_period('case_indicators') }}
            or exists (
                select 1
                from budget_periods
                where
                    budget_periods.grain = case_indicators.grain
                    and budget_periods.period_start = case_indicators.period_start
            )
    {%- endif %}
)

select * from case_rows
union all by name
select * from budget_indicators
