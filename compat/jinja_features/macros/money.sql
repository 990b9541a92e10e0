{#- Dispatched within this project: postgres__ wins over default__. -#}
{% macro to_money(column, currency) -%}
    {{ return(adapter.dispatch('to_money', 'jinja_features')(column, currency)) }}
{%- endmacro %}

{% macro default__to_money(column, currency) -%}
    cast({{ column }} as decimal(18, 2))
{%- endmacro %}

{% macro postgres__to_money(column, currency) -%}
    round(({{ column }} * {{ var('rates')[currency] }})::numeric, 2)
{%- endmacro %}
