{#-
    Every non-null value of the column is in the value set `field` (default: the column's name)
    of the seed value_sets: the one list of allowed values per field, instead of accepted_values
    lists copied into each model (no dbt packages here: dbt_utils is out of reach).
-#}
{% test in_value_set(model, column_name, field=none) %}
select {{ column_name }}
from {{ model }}
where
    {{ column_name }} is not null
    and {{ column_name }} not in (
        select value from {{ ref('value_sets') }}
        where field = '{{ field or column_name }}'
    )
{% endtest %}
