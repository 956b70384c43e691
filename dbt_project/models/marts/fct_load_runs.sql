{#-
    One row per load run (a landed batch of any source): its kind (api: a nightly landing of one
    business date; file: an imported archive), the rows loaded and quarantined. The 数据质量
    section of the reports sums these per period.
-#}
with

landings as (
    select * from {{ ref('stg_platform__landings') }}
),

final as (
    select
        batch,
        source,
        kind,
        business_date,
        coalesce(loaded_rows, 0) as loaded_rows,
        quarantined,
        landed_count,
        source_count,
        loaded_at
    from landings
)

select * from final
