{#- Fails on rows where the tested column exceeds `other_column` of the same row. -#}
{% test not_greater_than_column(model, column_name, other_column) %}
select {{ column_name }}, {{ other_column }}
from {{ model }}
where {{ column_name }} > {{ other_column }}
{% endtest %}
