{#- Every row satisfies a boolean SQL expression (no dbt packages here: dbt_utils is out of reach). -#}
{% test row_condition(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
