{#-
    The 部门预算支出经济分类科目 hierarchy: one row per code in use, 类 (3 digits) and 款 (5),
    with the names of the level and of its 类, and whether the 款 is a "三公"经费 item. Names
    come from the economic_classes seed; a code that appears only in the budget lines takes
    the line's name (款) or stays unnamed (a warning test flags it).
-#}
with

classes as (
    select * from {{ ref('economic_classes') }}
),

sangong as (
    select * from {{ ref('sangong_classes') }}
),

lines as (
    select * from {{ ref('stg_finance__budget_lines') }}
),

line_names as (
    select
        economic_code,
        economic_name
    from lines
    where economic_name is not null and economic_name != ''
    qualify row_number() over (partition by economic_code order by updated_at desc) = 1
),

codes as (
    select economic_code from classes
    union
    select left(economic_code, 3) from lines
    union
    select economic_code from lines
),

named as (
    select
        codes.economic_code,
        coalesce(classes.economic_name, line_names.economic_name) as economic_name
    from codes
    left join classes on codes.economic_code = classes.economic_code
    left join line_names on codes.economic_code = line_names.economic_code
),

final as (
    select
        named.economic_code,
        named.economic_name,
        case length(named.economic_code)
            when 3 then '类'
            when 5 then '款'
        end as economic_level,
        left(named.economic_code, 3) as economic_class_code,
        class_level.economic_name as economic_class_name,
        case when length(named.economic_code) = 5 then named.economic_code end as economic_section_code,
        case when length(named.economic_code) = 5 then named.economic_name end as economic_section_name,
        sangong.sangong_item,
        sangong.sangong_item is not null as is_sangong
    from named
    left join named as class_level on left(named.economic_code, 3) = class_level.economic_code
    left join sangong on named.economic_code = sangong.economic_code
)

select * from final
