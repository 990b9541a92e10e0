{#- Reports are aliased `rpt_<name>`; everything else keeps dbt's default naming. -#}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- if custom_alias_name -%}
        {{ custom_alias_name | trim }}
    {%- elif node.fqn[1] == 'reports' -%}
        rpt_{{ node.name }}
    {%- else -%}
        {{ node.name }}
    {%- endif -%}
{%- endmacro %}
