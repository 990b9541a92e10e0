{#- Overrides compat_utils' default__label_column: dispatch looks in the root project first. -#}
{% macro default__label_column(column) -%}
    initcap(trim({{ column }}))
{%- endmacro %}
