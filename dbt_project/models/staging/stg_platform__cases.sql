{#-
    Every distinct version of every case, typed. Personal data stops here: citizen name, phone
    and address are dropped, and phone and ID numbers (and the citizen's own name) are masked
    in the free text before anything downstream can read it.
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
        category,
        district,
        street,
        community,
        grid_id,
        handling_unit,
        status,
        cast(received_at as timestamptz) as received_at,
        cast(dispatched_at as timestamptz) as dispatched_at,
        cast(due_at as timestamptz) as due_at,
        cast(closed_at as timestamptz) as closed_at,
        cast(visited_at as timestamptz) as visited_at,
        cast(updated_at as timestamptz) as updated_at,
        coalesce(cast(urge_count as integer), 0) as urge_count,
        coalesce(cast(is_business_env as boolean), false) as is_business_env,
        coalesce(cast(is_key_supervision as boolean), false) as is_key_supervision,
        satisfaction,
        regexp_replace(
            regexp_replace(
                replace(content, coalesce(nullif(citizen_name, ''), chr(0)), '**'),
                '\d{17}[\dXx]|\d{15}', '[身份证号]', 'g'
            ),
            '(\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}', '[电话]', 'g'
        ) as content_masked,
        _batch,
        _row,
        _loaded_at
    from source
),

deduplicated as (
    select *
    from typed
    qualify row_number() over (partition by case_id, updated_at order by _loaded_at desc, _batch, _row) = 1
)

select * from deduplicated
