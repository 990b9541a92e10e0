{#- Root overrides of dbt's dispatched cross-database macros: dbt.any_value() and
    dbt.type_string() now resolve here first. -#}
{% macro postgres__any_value(expression) -%}
    (array_agg({{ expression }}))[1]
{%- endmacro %}

{% macro default__type_string() -%}
    {{ return('varchar') }}
{%- endmacro %}
