{#- A generic test defined in macros/ rather than tests/generic/. -#}
{% test expression_holds(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
