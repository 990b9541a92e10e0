{#- Generic test `not_null`: fails with one row per null value (all columns when failures are stored). -#}
{% test not_null(model, column_name) %}
    {{ return(adapter.dispatch('test_not_null', 'dbt')(model, column_name)) }}
{% endtest %}

{% macro default__test_not_null(model, column_name) %}
{%- set selected = '*' if should_store_failures() else column_name %}

select {{ selected }}
from {{ model }}
where {{ column_name }} is null
{% endmacro %}
