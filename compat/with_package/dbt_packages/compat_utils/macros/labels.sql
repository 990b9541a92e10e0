{#- Dispatched helper the root project overrides (see with_package/macros/overrides.sql). -#}
{% macro label_column(column) -%}
    {{ return(adapter.dispatch('label_column', 'compat_utils')(column)) }}
{%- endmacro %}

{% macro default__label_column(column) -%}
    upper({{ column }})
{%- endmacro %}

{#- Reads a var: resolved in the scope of whichever node calls it. -#}
{% macro threshold_filter(column) -%}
    {{ column }} >= {{ var('utils_threshold', 5) }}
{%- endmacro %}
