{#-
    The 支出功能分类科目 hierarchy: one row per code of the reference and per code in use, at
    every level, 类 (3 digits), 款 (5) and 项 (7), with the names of the level and of its
    parents. The levels are the code's prefixes, so a code nobody named still has its place.
    A name is resolved in this order (README, Decisions):
      1. the function_classes reference, in the version in force in the latest fiscal year
         the code is used (a reference code not in use: its latest version);
      2. the name carried on the budget line (the 项; its latest version);
      3. none: function_name is null and name_source 'unnamed' (the gate warns "科目 NNN").
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
    where nullif(trim(function_name), '') is not null
    qualify row_number() over (partition by function_code order by updated_at desc) = 1
),

levels as (
    select
        left(function_code, 3) as function_code,
        fiscal_year
    from lines
    union
    select
        left(function_code, 5) as function_code,
        fiscal_year
    from lines
    union
    select
        function_code,
        fiscal_year
    from lines
),

used as (
    select
        function_code,
        max(fiscal_year) as last_fiscal_year
    from levels
    group by function_code
),

reference_codes as (
    select distinct function_code from classes
),

codes as (
    select
        coalesce(used.function_code, reference_codes.function_code) as function_code,
        used.last_fiscal_year
    from used
    full join reference_codes on used.function_code = reference_codes.function_code
),

reference_names as (
    select
        codes.function_code,
        classes.function_name
    from codes
    inner join classes
        on
            codes.function_code = classes.function_code
            and (
                codes.last_fiscal_year is null
                or codes.last_fiscal_year between classes.valid_from_year and coalesce(classes.valid_to_year, 9999)
            )
    qualify row_number() over (partition by codes.function_code order by classes.valid_from_year desc) = 1
),

named as (
    select
        codes.function_code,
        codes.last_fiscal_year,
        coalesce(reference_names.function_name, line_names.function_name) as function_name,
        case
            when reference_names.function_name is not null then 'reference'
            when line_names.function_name is not null then 'line'
            else 'unnamed'
        end as name_source
    from codes
    left join reference_names on codes.function_code = reference_names.function_code
    left join line_names on codes.function_code = line_names.function_code
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
