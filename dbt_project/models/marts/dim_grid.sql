{#-
    One row per grid (网格) seen in fct_cases, with the community (社区), street (街道) and
    district it belongs to. When the cases of a grid disagree (a re-drawn grid, a typing
    error), the most frequent assignment wins, then the one of the most recently received case.
-#}
with

cases as (
    select * from {{ ref('fct_cases') }}
),

assignments as (
    select
        grid_id,
        community,
        street,
        district,
        count(*) as n_cases,
        max(received_at) as last_received_at
    from cases
    where grid_id is not null
    group by grid_id, community, street, district
),

final as (
    select
        grid_id,
        community,
        street,
        district,
        sum(n_cases) over (partition by grid_id) as case_count
    from assignments
    qualify row_number() over (
        partition by grid_id
        order by n_cases desc, last_received_at desc, community asc, street asc
    ) = 1
)

select * from final
