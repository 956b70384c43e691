{#-
    One row per case category path (诉求分类) seen in fct_cases, split into its levels:
    `城市管理/市容环境/占道经营` → 一级 城市管理, 二级 市容环境, 三级 占道经营. A path with fewer
    than three levels leaves the deeper levels null. `category_key` is stable (see the
    category_key macro) and is what fct_cases.category_key joins to.
-#}
with

cases as (
    select * from {{ ref('fct_cases') }}
),

paths as (
    select distinct category
    from cases
    where category is not null
),

final as (
    select
        {{ category_key('category') }} as category_key,
        category,
        nullif(trim(split_part(category, '/', 1)), '') as level_1,
        nullif(trim(split_part(category, '/', 2)), '') as level_2,
        nullif(trim(split_part(category, '/', 3)), '') as level_3,
        '一级分类' as level_1_name,
        '二级分类' as level_2_name,
        '三级分类' as level_3_name,
        len(string_split(category, '/')) as level_count
    from paths
)

select * from final
