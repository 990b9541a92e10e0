{#- Builders that call macros defined in collections.sql (another file). -#}

{% macro select_list(metrics) -%}
    {%- set cols = metric_columns(metrics) -%}
    {%- for col in cols %}
    {{ col }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro typed_nulls() -%}
    {%- set types = column_types() -%}
    {%- for name, type in types.items() %}
    cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- A CTE whose body is the caller's block. -#}
{% macro cte(name) -%}
{{ name }} as (
{{ caller() }}
)
{%- endmacro %}

{#- Wraps the caller's block in a comment banner, passing the banner text to the caller. -#}
{% macro banner(title) -%}
-- begin {{ title | upper }}
{{ caller(title | lower) }}
-- end {{ title | upper }}
{%- endmacro %}
