{#-
    The expenditure economic classification hierarchy: one row per code of the reference and
    per code in use, 类 (3 digits) and 款 (5), with the names of the level and of its 类, the
    classification it belongs to (部门预算支出经济分类 3xx, 政府预算支出经济分类 5xx) and
    whether the 款 is a "三公"经费 item. The 类 is the code's prefix. A name is resolved as in
    dim_function: the economic_classes reference in force in the latest fiscal year the code is
    used, else the name carried on the line (款), else none (name_source 'unnamed', warned).
-#}
with

sangong as (
    select * from {{ ref('sangong_classes') }}
),

named as (
    {{ classification_names('economic', ref('economic_classes'), ref('stg_finance__budget_lines'), [3]) }}
),

final as (
    select
        named.economic_code,
        named.economic_name,
        named.name_source,
        case length(named.economic_code)
            when 3 then '类'
            when 5 then '款'
        end as economic_level,
        case left(named.economic_code, 1)
            when '3' then '部门预算支出经济分类'
            when '5' then '政府预算支出经济分类'
        end as economic_classification,
        left(named.economic_code, 3) as economic_class_code,
        class_level.economic_name as economic_class_name,
        case when length(named.economic_code) = 5 then named.economic_code end as economic_section_code,
        case when length(named.economic_code) = 5 then named.economic_name end as economic_section_name,
        sangong.sangong_item,
        sangong.sangong_item is not null as is_sangong,
        named.last_fiscal_year
    from named
    left join named as class_level on left(named.economic_code, 3) = class_level.economic_code
    left join sangong on named.economic_code = sangong.economic_code
)

select * from final
