{#-
    One row per case: its latest version (the greatest updated_at), from fct_case_events.

    Incremental (delete+insert by case_id): a run rewrites only the cases whose latest version
    in fct_case_events differs from the row here (another version won, its raw row was
    re-loaded, a version was added or removed). Cases gone from fct_case_events are deleted by
    the post-hook. Nothing here joins a dimension, so a row only depends on its own versions and
    an incremental run equals a full refresh.
-#}
{{
    config(
        materialized='incremental',
        unique_key='case_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook="delete from {{ this }} as c where not exists (select 1 from {{ ref('fct_case_events') }} as e where e.case_id = c.case_id)"
    )
}}

with

latest as (
    select *
    from {{ ref('fct_case_events') }}
    where is_latest
),

changed as (
    select latest.*
    from latest
    {% if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as current_rows
            where
                current_rows.case_id = latest.case_id
                and current_rows.updated_at = latest.updated_at
                and current_rows.version_count = latest.version_count
                and current_rows._batch = latest._batch
                and current_rows._row = latest._row
                and current_rows._loaded_at = latest._loaded_at
                and current_rows._case_loaded_at = latest._case_loaded_at
        )
    {% endif %}
),

final as (
    select
        case_id,
        channel,
        case_type,
        category,
        {{ category_key('category') }} as category_key,
        district,
        street,
        community,
        grid_id,
        handling_unit,
        status,
        status = '不予受理' as is_rejected,
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
        cast(timezone('Asia/Shanghai', received_at) as date) as received_date,
        cast(timezone('Asia/Shanghai', due_at) as date) as due_date,
        cast(timezone('Asia/Shanghai', closed_at) as date) as closed_date,
        closed_at is not null and due_at is not null and closed_at <= due_at as is_closed_on_time,
        version_count,
        _batch,
        _row,
        _loaded_at,
        _case_loaded_at
    from changed
)

select * from final
