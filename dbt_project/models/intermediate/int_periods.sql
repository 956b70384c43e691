{#-
    The period map every indicator mart places its figures in: one row per local
    (Asia/Shanghai) day and grain, with the period that day falls in — day, ISO week (Monday to
    Sunday, labelled by its ISO year: 2025-W01 may start in 2024), month, year — its label, its
    end (the next period's first day) and that end as a timestamp (midnight local time).

    Range: the local days from var period_first_day (2000-01-01) to var period_last_day
    (2099-12-31). Marts take the stretch they need (fct_case_indicators: first to last anchored
    day; fct_budget_indicators: the months and years of its fiscal years).
-#}
{{ config(materialized='table') }}
{%- set first_day = var('period_first_day', '2000-01-01') -%}
{%- set last_day = var('period_last_day', '2099-12-31') -%}

with

days as (
    select cast(unnest(generate_series(date '{{ first_day }}', date '{{ last_day }}', interval 1 day)) as date)
        as local_day
),

grains as (
    select unnest(['day', 'week', 'month', 'year']) as grain
),

day_periods as (
    select
        days.local_day,
        grains.grain,
        cast(date_trunc(grains.grain, days.local_day) as date) as period_start
    from days
    cross join grains
),

bounded as (
    select
        local_day,
        grain,
        period_start,
        case grain
            when 'day' then strftime(period_start, '%Y-%m-%d')
            when 'week' then strftime(period_start, '%G-W%V')
            when 'month' then strftime(period_start, '%Y-%m')
            else strftime(period_start, '%Y')
        end as period,
        cast(period_start + case grain
            when 'day' then interval 1 day
            when 'week' then interval 7 day
            when 'month' then interval 1 month
            else interval 1 year
        end as date) as period_end
    from day_periods
)

select
    *,
    timezone('Asia/Shanghai', cast(period_end as timestamp)) as period_end_at
from bounded
