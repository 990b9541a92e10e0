{#- String aggregation of `measure` joined by `delimiter_text`, optionally ordered and limited. -#}
{% macro listagg(measure, delimiter_text="','", order_by_clause=none, limit_num=none) -%}
  {{ return(adapter.dispatch('listagg', 'dbt')(measure, delimiter_text, order_by_clause, limit_num)) }}
{%- endmacro %}

{#- string_agg cannot limit, so a limit aggregates into an array, slices it and joins it. -#}
{% macro postgres__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
  {%- if limit_num -%}
array_to_string(
        (array_agg(
            {{ measure }}
            {{ order_by_clause if order_by_clause else '' }}
        ))[1:{{ limit_num }}],
        {{ delimiter_text }}
        )
  {%- else %}
    string_agg(
        {{ measure }},
        {{ delimiter_text }}
        {{ order_by_clause if order_by_clause else '' }}
        )
  {%- endif -%}
{%- endmacro %}
