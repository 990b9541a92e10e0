{#- Casts: plain, "safe" (PostgreSQL has no try_cast, so a plain cast), and boolean to text. -#}
{% macro cast(field, type) -%}
  {{ return(adapter.dispatch('cast', 'dbt')(field, type)) }}
{%- endmacro %}

{% macro default__cast(field, type) %}
    cast({{ field }} as {{ type }})
{% endmacro %}

{% macro safe_cast(field, type) -%}
  {{ return(adapter.dispatch('safe_cast', 'dbt')(field, type)) }}
{%- endmacro %}

{% macro default__safe_cast(field, type) %}
    {# PostgreSQL has no safe cast: a bad value fails the query #}
    cast({{ field }} as {{ type }})
{% endmacro %}

{% macro cast_bool_to_text(field) -%}
  {{ return(adapter.dispatch('cast_bool_to_text', 'dbt')(field)) }}
{%- endmacro %}

{% macro default__cast_bool_to_text(field) %}
    cast({{ field }} as {{ type_string() }})
{% endmacro %}
