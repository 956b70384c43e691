{#-
    Every raw row of the cases (raw.cases), typed: one row per (_batch, _row). Personal data
    stops here: citizen name, phone and address are dropped, and in the free text the citizen's
    own name and address, ID numbers, phone numbers and the door numbers of any address are
    masked (macro mask_personal, the rule of minhu/pii.py) before anything downstream can read
    it. stg_platform__cases keeps the distinct versions; the data tests of the case fields are
    here, where a filter on _loaded_at reaches the scan of raw.cases (no window in between), so
    a build tests only the rows loaded since the last passing build.
-#}
with

source as (
    select * from {{ source('raw', 'cases') }}
),

typed as (
    select
        case_id,
        channel,
        case_type,
        nullif(trim(category), '') as category,
        nullif(trim(district), '') as district,
        nullif(trim(street), '') as street,
        nullif(trim(community), '') as community,
        nullif(trim(grid_id), '') as grid_id,
        nullif(trim(handling_unit), '') as handling_unit,
        status,
        cast(received_at as timestamptz) as received_at,
        cast(nullif(dispatched_at, '') as timestamptz) as dispatched_at,
        cast(nullif(due_at, '') as timestamptz) as due_at,
        cast(nullif(closed_at, '') as timestamptz) as closed_at,
        cast(nullif(visited_at, '') as timestamptz) as visited_at,
        cast(updated_at as timestamptz) as updated_at,
        coalesce(cast(nullif(urge_count, '') as integer), 0) as urge_count,
        {{ case_flag('is_business_env') }} as is_business_env,
        {{ case_flag('is_key_supervision') }} as is_key_supervision,
        nullif(satisfaction, '') as satisfaction,
        {{ mask_personal('content', 'citizen_name', 'address') }} as content_masked,
        _batch,
        _row,
        _loaded_at
    from source
)

select * from typed
