{#-
    The 支出功能分类科目 hierarchy: one row per code at every level in use, 类 (3 digits),
    款 (5) and 项 (7), with the names of the level and of its parents. Names come from the
    function_classes seed; a code that appears only in the budget lines takes the line's name
    (项) or stays unnamed (a warning test flags it).
-#}
with

classes as (
    select * from {{ ref('function_classes') }}
),

lines as (
    select * from {{ ref('stg_finance__budget_lines') }}
),

line_names as (
    select
        function_code,
        function_name
    from lines
    where function_name is not null and function_name != ''
    qualify row_number() over (partition by function_code order by updated_at desc) = 1
),

codes as (
    select function_code from classes
    union
    select left(function_code, 3) from lines
    union
    select left(function_code, 5) from lines
    union
    select function_code from lines
),

named as (
    select
        codes.function_code,
        coalesce(classes.function_name, line_names.function_name) as function_name
    from codes
    left join classes on codes.function_code = classes.function_code
    left join line_names on codes.function_code = line_names.function_code
),

final as (
    select
        named.function_code,
        named.function_name,
        case length(named.function_code)
            when 3 then '类'
            when 5 then '款'
            when 7 then '项'
        end as function_level,
        left(named.function_code, 3) as function_class_code,
        class_level.function_name as function_class_name,
        case when length(named.function_code) >= 5 then left(named.function_code, 5) end as function_section_code,
        case when length(named.function_code) >= 5 then section_level.function_name end as function_section_name,
        case when length(named.function_code) = 7 then named.function_code end as function_item_code,
        case when length(named.function_code) = 7 then named.function_name end as function_item_name
    from named
    left join named as class_level on left(named.function_code, 3) = class_level.function_code
    left join named as section_level on left(named.function_code, 5) = section_level.function_code
)

select * from final
