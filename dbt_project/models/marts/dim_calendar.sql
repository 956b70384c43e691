{#-
    One row per local (Asia/Shanghai) date with China's working days. The official days come
    from the seed calendar_days (written from the chinese-calendar package by
    scripts/calendar_seed.py: State Council public holidays and 调休 make-up working days; no
    hand-typed list). Range: whole years from min(2020, the earliest received_at year in
    raw.cases) to max(2026, the latest due_at / updated_at year in raw.cases). A date outside
    the seed's years follows minhu.calendar's fallback (Monday–Friday are working days, no
    holidays, no make-up days) and says so in calendar_source.
-#}
with

cases as (
    select * from {{ source('raw', 'cases') }}
),

official as (
    select * from {{ ref('calendar_days') }}
),

bounds as (
    select
        least(2020, coalesce(min(try_cast(left(received_at, 4) as integer)), 2020)) as first_year,
        greatest(
            2026,
            coalesce(
                max(greatest(try_cast(left(due_at, 4) as integer), try_cast(left(updated_at, 4) as integer))),
                2026
            )
        ) as last_year
    from cases
),

covered as (
    select
        min(year(date_day)) as first_year,
        max(year(date_day)) as last_year
    from official
),

days as (
    select cast(series.day_start as date) as date_day
    from bounds
    cross join
        generate_series(
            cast(make_date(bounds.first_year, 1, 1) as timestamp),
            cast(make_date(bounds.last_year, 12, 31) as timestamp),
            interval 1 day
        ) as series (day_start)
),

flagged as (
    select
        days.date_day,
        year(days.date_day) between covered.first_year and covered.last_year as is_official,
        coalesce(official.is_working_day, isodow(days.date_day) <= 5) as is_working_day,
        official.holiday_name
    from days
    cross join covered
    left join official on days.date_day = official.date_day
),

final as (
    select
        date_day,
        cast(year(date_day) * 10000 + month(date_day) * 100 + day(date_day) as bigint) as date_key,
        cast(year(date_day) as bigint) as year,
        cast(quarter(date_day) as bigint) as quarter,
        cast(month(date_day) as bigint) as month,
        cast(isoyear(date_day) as bigint) as iso_year,
        cast(week(date_day) as bigint) as iso_week,
        cast(isodow(date_day) as bigint) as day_of_week,
        isoyear(date_day) || '-W' || lpad(cast(week(date_day) as varchar), 2, '0') as week_label,
        strftime(date_day, '%Y-%m') as month_label,
        cast(year(date_day) as varchar) as year_label,
        isodow(date_day) >= 6 as is_weekend,
        is_working_day,
        coalesce(not is_working_day and holiday_name is not null, false) as is_holiday,
        holiday_name,
        is_working_day and isodow(date_day) >= 6 as is_makeup_workday,
        case when is_official then 'chinese_calendar' else 'weekday_fallback' end as calendar_source
    from flagged
)

select * from final
