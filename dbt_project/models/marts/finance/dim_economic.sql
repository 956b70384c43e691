{#-
    The expenditure economic classification hierarchy: one row per code of the reference and
    per code in use, 类 (3 digits) and 款 (5), with the names of the level and of its 类, the
    classification it belongs to (部门预算支出经济分类 3xx, 政府预算支出经济分类 5xx) and
    whether the 款 is a "三公"经费 item. The 类 is the code's prefix. A name is resolved as in
    dim_function: the economic_classes reference in force in the latest fiscal year the code is
    used, else the name carried on the line (款), else none (name_source 'unnamed', warned).
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
    where nullif(trim(economic_name), '') is not null
    qualify row_number() over (partition by economic_code order by updated_at desc) = 1
),

levels as (
    select
        left(economic_code, 3) as economic_code,
        fiscal_year
    from lines
    union
    select
        economic_code,
        fiscal_year
    from lines
),

used as (
    select
        economic_code,
        max(fiscal_year) as last_fiscal_year
    from levels
    group by economic_code
),

reference_codes as (
    select distinct economic_code from classes
),

codes as (
    select
        coalesce(used.economic_code, reference_codes.economic_code) as economic_code,
        used.last_fiscal_year
    from used
    full join reference_codes on used.economic_code = reference_codes.economic_code
),

reference_names as (
    select
        codes.economic_code,
        classes.economic_name
    from codes
    inner join classes
        on
            codes.economic_code = classes.economic_code
            and (
                codes.last_fiscal_year is null
                or codes.last_fiscal_year between classes.valid_from_year and coalesce(classes.valid_to_year, 9999)
            )
    qualify row_number() over (partition by codes.economic_code order by classes.valid_from_year desc) = 1
),

named as (
    select
        codes.economic_code,
        codes.last_fiscal_year,
        coalesce(reference_names.economic_name, line_names.economic_name) as economic_name,
        case
            when reference_names.economic_name is not null then 'reference'
            when line_names.economic_name is not null then 'line'
            else 'unnamed'
        end as name_source
    from codes
    left join reference_names on codes.economic_code = reference_names.economic_code
    left join line_names on codes.economic_code = line_names.economic_code
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
