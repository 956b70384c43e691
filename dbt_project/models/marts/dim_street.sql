{#-
    One row per street (街道) seen in fct_cases: its district, its street office (街道办事处,
    the handling unit name of the street) and how many communities and grids it has in dim_grid.
-#}
with

streets as (
    select
        street,
        mode(district) as district,
        count(*) as case_count
    from {{ ref('fct_cases') }}
    where street is not null
    group by street
),

grid_counts as (
    select
        street,
        count(distinct community) as community_count,
        count(*) as grid_count
    from {{ ref('dim_grid') }}
    group by street
),

final as (
    select
        streets.street,
        streets.district,
        streets.street || '办事处' as street_office,
        coalesce(grid_counts.community_count, 0) as community_count,
        coalesce(grid_counts.grid_count, 0) as grid_count,
        streets.case_count
    from streets
    left join grid_counts on streets.street = grid_counts.street
)

select * from final
