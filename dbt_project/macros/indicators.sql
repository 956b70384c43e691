{#- met: the indicator's value against its target, by direction (ge: at least, le: at most); null when either is null -#}
{% macro indicator_met(value, target) -%}
    case
        when {{ value }} is null or {{ target }} is null then null
        when direction = 'ge' then {{ value }} >= {{ target }}
        else {{ value }} <= {{ target }}
    end
{%- endmacro %}
