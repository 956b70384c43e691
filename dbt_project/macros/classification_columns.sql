{#-
    The classification columns of a budget line, payment or spend row: the function code with
    its 类 (3 digits) and 款 (5) prefixes, the economic code with its 类 (3); with names=true
    also the names the line carries (function_name, economic_name) after each code.
-#}
{% macro classification_columns(names=false) -%}
    function_code,
    {%- if names %}
    function_name,
    {%- endif %}
    left(function_code, 3) as function_class_code,
    left(function_code, 5) as function_section_code,
    economic_code,
    {%- if names %}
    economic_name,
    {%- endif %}
    left(economic_code, 3) as economic_class_code
{%- endmacro %}
