{#-
    One row per local date whose case data is completely loaded: a nightly landing of the case
    feed for the date (how = 'api'), or a date inside the span of received dates of the imported
    case archives (how = 'file'; a date covered both ways says 'api'). Reports send a period only
    when every date of it is here, and compare only with periods that are.
-#}
with

landings as (
    select * from {{ ref('stg_platform__landings') }}
),

api_days as (
    select distinct business_date as date_day
    from landings
    where source = 'cases' and kind = 'api' and business_date is not null
),

archive_batches as (
    select batch
    from landings
    where source = 'cases' and kind = 'file'
),

archive_span as (
    -- the raw text, as landed: every row of an imported archive counts, duplicates included
    select
        min(cast(timezone('Asia/Shanghai', try_cast(cases.received_at as timestamptz)) as date)) as lo,
        max(cast(timezone('Asia/Shanghai', try_cast(cases.received_at as timestamptz)) as date)) as hi
    from {{ source('raw', 'cases') }} as cases
    inner join archive_batches on cases._batch = archive_batches.batch
),

file_days as (
    select cast(unnest(generate_series(lo, hi, interval 1 day)) as date) as date_day
    from archive_span
    where lo is not null and hi is not null
),

final as (
    select
        date_day,
        'api' as how
    from api_days
    union all
    select
        file_days.date_day,
        'file' as how
    from file_days
    anti join api_days on file_days.date_day = api_days.date_day
)

select * from final
