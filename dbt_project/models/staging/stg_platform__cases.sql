{#-
    Every distinct version of every case (one row per (case_id, updated_at)), from the typed
    rows of stg_platform__case_rows, where personal data is dropped and masked.
-#}
with

case_rows as (
    select * from {{ ref('stg_platform__case_rows') }}
),

deduplicated as (
    -- exact duplicates (same case_id and updated_at, e.g. the same version in an API landing and
    -- in an archive file): the first by (batch, row) wins, as in pipeline/imports.py's
    -- accounting; API batches ('api/...') sort before files ('file/...'). Load order and load
    -- time do not matter, so a fresh warehouse and a long-lived one agree.
    select *
    from case_rows
    qualify row_number() over (partition by case_id, updated_at order by _batch, _row) = 1
)

select * from deduplicated
