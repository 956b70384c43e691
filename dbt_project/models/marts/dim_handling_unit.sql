{#-
    One row per handling unit (承办单位) cases were dispatched to, classified by its name:
      street_office  a 街道办事处 (name ends with 办事处); `street` is the street it serves;
      utility        a public-utility company (name ends with 公司, or contains 集团);
      department     a district functional department (局, 分局, 中心, 大队, 联合会, ... or a
                     name starting with the district's name, e.g. <district>城市管理执法局);
      other          none of the above (listed so that no unit is silently dropped).
-#}
with

cases as (
    select * from {{ ref('fct_cases') }}
),

units as (
    select
        handling_unit,
        mode(district) as district,
        count(*) as case_count
    from cases
    where handling_unit is not null
    group by handling_unit
),

classified as (
    select
        *,
        case
            when handling_unit like '%办事处' then 'street_office'
            when handling_unit like '%公司' or handling_unit like '%集团%' then 'utility'
            when
                handling_unit like district || '%'
                or regexp_matches(handling_unit, '(局|分局|中心|大队|联合会|委员会|办公室)$')
                then 'department'
            else 'other'
        end as unit_kind
    from units
),

final as (
    select
        handling_unit,
        unit_kind,
        case unit_kind
            when 'street_office' then '街道办事处'
            when 'utility' then '公用企业'
            when 'department' then '区直部门'
            else '其他'
        end as unit_kind_name,
        case
            when unit_kind = 'street_office' then regexp_replace(handling_unit, '办事处$', '')
        end as street,
        district,
        case_count
    from classified
)

select * from final
