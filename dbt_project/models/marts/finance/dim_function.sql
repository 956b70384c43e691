{#-
    The 支出功能分类科目 hierarchy: one row per code of the reference and per code in use, at
    every level, 类 (3 digits), 款 (5) and 项 (7), with the names of the level and of its
    parents. The levels are the code's prefixes, so a code nobody named still has its place.
    A name is resolved in this order (README, Decisions; macro classification_names):
      1. the function_classes reference, in the version in force in the latest fiscal year
         the code is used (a reference code not in use: its latest version);
      2. the name carried on the budget line (the 项; its latest version);
      3. none: function_name is null and name_source 'unnamed' (the gate warns "科目 NNN").
-#}
with

named as (
    {{ classification_names('function', ref('function_classes'), ref('stg_finance__budget_lines'), [3, 5]) }}
),

final as (
    select
        named.function_code,
        named.function_name,
        named.name_source,
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
        case when length(named.function_code) = 7 then named.function_name end as function_item_name,
        named.last_fiscal_year
    from named
    left join named as class_level on left(named.function_code, 3) = class_level.function_code
    left join named as section_level on left(named.function_code, 5) = section_level.function_code
)

select * from final
