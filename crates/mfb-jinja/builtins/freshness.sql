{#- Source freshness: the newest `loaded_at_field` value of a source (optionally filtered)
    and the database's current time, as one row kept under the name `collect_freshness`. -#}
{% macro collect_freshness(source, loaded_at_field, filter) -%}
  {{ return(adapter.dispatch('collect_freshness', 'dbt')(source, loaded_at_field, filter)) }}
{%- endmacro %}

{% macro default__collect_freshness(source, loaded_at_field, filter) -%}
  {%- call statement('collect_freshness', fetch_result=true, auto_begin=false) -%}
    select
      max({{ loaded_at_field }}) as max_loaded_at,
      {{ current_timestamp() }} as snapshotted_at
    from {{ source }}
    {%- if filter %}
    where {{ filter }}
    {%- endif %}
  {%- endcall -%}
  {{ return(load_result('collect_freshness')) }}
{%- endmacro %}
