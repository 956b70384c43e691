{#-
    The stable key of a case category path (诉求分类, e.g. 城市管理/市容环境/占道经营): the first
    16 hex digits of the MD5 of the path as the platform sends it. It depends on the path only,
    so it is the same in every build and every warehouse; null for a case without a category.
-#}
{% macro category_key(column) -%}
    left(md5({{ column }}), 16)
{%- endmacro %}
