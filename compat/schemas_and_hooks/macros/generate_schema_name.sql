{#-
  Project override of dbt's schema naming: in the `prod` target a custom schema is used
  as-is; elsewhere it is prefixed with the target schema (dbt's default). Nodes tagged
  `shared` always go to the `shared` schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if node is not none and 'shared' in node.tags -%}
        shared
    {%- elif custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.name == 'prod' -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
