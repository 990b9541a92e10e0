{#- Call block that sets the model's `sql_header` config: SQL run before the model's
    statement in the same session (`set local ...`, temporary functions). -#}
{% macro set_sql_header(config) -%}
  {{ config.set('sql_header', caller()) }}
{%- endmacro %}
