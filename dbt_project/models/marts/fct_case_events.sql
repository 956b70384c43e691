{#-
    The status history of every case: one row per version (case_id, updated_at) from the change
    feed and the archive imports, with the status it left and the transition it made.

    Incremental (delete+insert by case_id): a run rebuilds every version of the cases touched
    since the last run and nothing else. A case is touched when
      * raw.cases has a row of it loaded after the newest load this model has seen
        (`_case_loaded_at` = the newest `_loaded_at` of any raw row of the case, kept on every
        row, is the watermark: a re-loaded batch gets a new `_loaded_at`, so it is seen again);
      * or a row here no longer matches a raw row (its batch was re-loaded or removed), or the
        case's newest load time no longer exists in raw (that load was replaced).
    Cases with no raw row left are deleted by the post-hook. A full refresh and any sequence of
    incremental runs over the same raw rows give the same table (tests/test_case_marts.py).
-#}
{{
    config(
        materialized='incremental',
        unique_key='case_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        post_hook="delete from {{ this }} as e where not exists (select 1 from {{ source('raw', 'cases') }} as r where r.case_id = e.case_id)"
    )
}}

{#-
    The touched cases (above), and how a run selects their rows: when there are at most
    touched_inline_limit of them (a nightly run: hundreds), their ids are read first and written
    into the query as a list of constants, which DuckDB pushes below stg_platform__cases'
    deduplicating window into the scan of raw.cases; a semi-join on the same ids it does not
    push, so it would type and rank every raw row of the history first (after ten years of
    history: 0.26 s against 6.4 s). More touched cases (a large import) take the semi-join.
-#}
{%- set touched_sql -%}
    select raw_rows.case_id
    from {{ source('raw', 'cases') }} as raw_rows
    where
        raw_rows._loaded_at > (
            select coalesce(max(seen._case_loaded_at), '-infinity'::timestamptz) from {{ this }} as seen
        )

    union

    select events.case_id
    from {{ this }} as events
    where
        not exists (
            select 1
            from (select distinct r._batch, r._loaded_at from {{ source('raw', 'cases') }} as r) as raw_loads
            where raw_loads._batch = events._batch and raw_loads._loaded_at = events._loaded_at
        )
        or not exists (
            select 1
            from (select distinct r._loaded_at from {{ source('raw', 'cases') }} as r) as raw_loads
            where raw_loads._loaded_at = events._case_loaded_at
        )
{%- endset -%}
{%- set case_filter = 'true' -%}
{%- if is_incremental() -%}
    {%- set case_filter = 'case_id in (select touched.case_id from touched)' -%}
    {%- if execute -%}
        {%- set limit = var('touched_inline_limit', 50000) | int -%}
        {%- set ids = run_query(
            'select distinct case_id from (' ~ touched_sql ~ ') order by case_id limit ' ~ (limit + 1)
        ).columns[0].values() -%}
        {%- if ids | length <= limit -%}
            {%- set case_filter = "case_id in ('" ~ (ids | map('replace', "'", "''") | join("', '")) ~ "')"
                if ids else 'false' -%}
        {%- endif -%}
    {%- endif -%}
{%- endif %}

with

{% if is_incremental() %}

touched as (
    {{ touched_sql }}
),

{% endif %}

versions as (
    select *
    from {{ ref('stg_platform__cases') }}
    where {{ case_filter }}
),

case_loads as (
    select
        case_id,
        max(_loaded_at) as _case_loaded_at
    from {{ source('raw', 'cases') }}
    where {{ case_filter }}
    group by case_id
),

sequenced as (
    select
        versions.*,
        row_number() over by_case as version_seq,
        count(*) over (partition by versions.case_id) as version_count,
        lag(versions.status) over by_case as previous_status,
        lag(versions.urge_count) over by_case as previous_urge_count,
        lead(versions.updated_at) over by_case as valid_to
    from versions
    window by_case as (partition by versions.case_id order by versions.updated_at)
),

final as (
    select
        sequenced.case_id,
        sequenced.updated_at,
        sequenced.version_seq,
        sequenced.version_count,
        sequenced.version_seq = sequenced.version_count as is_latest,
        sequenced.updated_at as valid_from,
        sequenced.valid_to,
        sequenced.status,
        sequenced.previous_status,
        case
            when sequenced.previous_status is null then '∅→' || sequenced.status
            when sequenced.previous_status != sequenced.status
                then sequenced.previous_status || '→' || sequenced.status
        end as transition,
        case
            when sequenced.previous_status is null then 'created'
            when sequenced.previous_status != sequenced.status then 'status_change'
            when sequenced.urge_count > sequenced.previous_urge_count then 'urged'
            else 'updated'
        end as event_type,
        sequenced.urge_count - coalesce(sequenced.previous_urge_count, 0) as urges_added,
        sequenced.channel,
        sequenced.case_type,
        sequenced.category,
        sequenced.district,
        sequenced.street,
        sequenced.community,
        sequenced.grid_id,
        sequenced.handling_unit,
        sequenced.received_at,
        sequenced.dispatched_at,
        sequenced.due_at,
        sequenced.closed_at,
        sequenced.visited_at,
        sequenced.urge_count,
        sequenced.is_business_env,
        sequenced.is_key_supervision,
        sequenced.satisfaction,
        sequenced._batch,
        sequenced._row,
        sequenced._loaded_at,
        case_loads._case_loaded_at
    from sequenced
    inner join case_loads on sequenced.case_id = case_loads.case_id
)

select * from final
