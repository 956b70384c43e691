{#-
    One row per landed batch (raw.landings): what was loaded, from which source and business
    date, and how much was quarantined. No personal data: counts, paths and checksums only.
-#}
with

source as (
    select * from {{ source('raw', 'landings') }}
),

typed as (
    select
        batch,
        source,
        kind,
        business_date,
        file_name,
        landed_count,
        source_count,
        quarantined,
        loaded_rows,
        loaded_at
    from source
)

select * from typed
