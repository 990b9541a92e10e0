{% test is_positive_or_null(model, column_name, strict=false) %}
select * from {{ model }}
where {{ column_name }} {{ '<=' if strict else '<' }} 0
{% endtest %}
