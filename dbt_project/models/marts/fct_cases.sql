{#- One row per case: its latest version (the greatest updated_at wins). -#}
with

versions as (
    select * from {{ ref('stg_platform__cases') }}
),

latest as (
    select *
    from versions
    qualify row_number() over (partition by case_id order by updated_at desc) = 1
),

final as (
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
        received_at,
        dispatched_at,
        due_at,
        closed_at,
        visited_at,
        urge_count,
        is_business_env,
        is_key_supervision,
        satisfaction,
        updated_at,
        cast(timezone('Asia/Shanghai', received_at) as date) as received_date
    from latest
)

select * from final
