{#-
    A yes/no field of the case platform as a boolean: the API sends JSON true/false, archive
    exports 是/否. Empty or missing is false. Anything else fails the cast loudly (bad rows are
    quarantined before raw, so this is a contract breach, not data to guess at).
-#}
{% macro case_flag(column) -%}
    case
        when {{ column }} is null or trim({{ column }}) = '' then false
        when trim({{ column }}) = '是' then true
        when trim({{ column }}) = '否' then false
        else cast(trim({{ column }}) as boolean)
    end
{%- endmacro %}
