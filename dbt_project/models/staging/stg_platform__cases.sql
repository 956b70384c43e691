{#-
    Every distinct version of every case, typed. Personal data stops here: citizen name, phone
    and address are dropped, and in the free text the citizen's own name and address, ID numbers,
    phone numbers and the door numbers of any address are masked (macro mask_personal, the rule
    of minhu/pii.py) before anything downstream can read it.
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
),

deduplicated as (
    -- exact duplicates (same case_id and updated_at, e.g. the same version in an API landing and
    -- in an archive file): the first by (batch, row) wins, as in pipeline/imports.py's
    -- accounting; API batches ('api/...') sort before files ('file/...'). Load order and load
    -- time do not matter, so a fresh warehouse and a long-lived one agree.
    select *
    from typed
    qualify row_number() over (partition by case_id, updated_at order by _batch, _row) = 1
)

select * from deduplicated
