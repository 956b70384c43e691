{#-
    The codes of a classification (支出功能分类 or 支出经济分类) and the name of each: one row per
    code of the reference seed and per code in use at any level, with the latest fiscal year it
    is used in, its name and where the name comes from. Columns: `<kind>_code`,
    last_fiscal_year, `<kind>_name`, name_source. The levels in use are the prefixes of the
    line's code of the given lengths, and the code itself. A name is resolved in this order:
      1. the reference, in the version in force in the latest fiscal year the code is used
         (a reference code not in use: its latest version) — name_source 'reference';
      2. the name carried on the budget line (its latest version) — 'line';
      3. none: the name is null — 'unnamed' (the gate warns "科目 NNN", never an error).
    kind: 'function' or 'economic'; classes: the reference seed (`<kind>_code`, `<kind>_name`,
    valid_from_year, valid_to_year); lines: stg_finance__budget_lines; prefixes: e.g. [3, 5].
-#}
{% macro classification_names(kind, classes, lines, prefixes) -%}
    {%- set code = kind ~ '_code' -%}
    {%- set name = kind ~ '_name' -%}
    with

    line_names as (
        select
            {{ code }},
            {{ name }}
        from {{ lines }}
        where nullif(trim({{ name }}), '') is not null
        qualify row_number() over (partition by {{ code }} order by updated_at desc) = 1
    ),

    levels as (
        {%- for n in prefixes %}
        select
            left({{ code }}, {{ n }}) as {{ code }},
            fiscal_year
        from {{ lines }}
        union
        {%- endfor %}
        select
            {{ code }},
            fiscal_year
        from {{ lines }}
    ),

    used as (
        select
            {{ code }},
            max(fiscal_year) as last_fiscal_year
        from levels
        group by {{ code }}
    ),

    reference_codes as (
        select distinct {{ code }} from {{ classes }}
    ),

    codes as (
        select
            coalesce(used.{{ code }}, reference_codes.{{ code }}) as {{ code }},
            used.last_fiscal_year
        from used
        full join reference_codes on used.{{ code }} = reference_codes.{{ code }}
    ),

    reference_names as (
        select
            codes.{{ code }},
            classes.{{ name }}
        from codes
        inner join {{ classes }} as classes
            on
                codes.{{ code }} = classes.{{ code }}
                and (
                    codes.last_fiscal_year is null
                    or codes.last_fiscal_year between classes.valid_from_year and coalesce(classes.valid_to_year, 9999)
                )
        qualify row_number() over (partition by codes.{{ code }} order by classes.valid_from_year desc) = 1
    )

    select
        codes.{{ code }},
        codes.last_fiscal_year,
        coalesce(reference_names.{{ name }}, line_names.{{ name }}) as {{ name }},
        case
            when reference_names.{{ name }} is not null then 'reference'
            when line_names.{{ name }} is not null then 'line'
            else 'unnamed'
        end as name_source
    from codes
    left join reference_names on codes.{{ code }} = reference_names.{{ code }}
    left join line_names on codes.{{ code }} = line_names.{{ code }}
{%- endmacro %}
