{#- Column names of a relation, or the given fallback when it does not exist yet. -#}
{% macro column_names_or(relation, fallback) %}
    {%- set existing = load_relation(relation) -%}
    {%- if existing is none -%}
        {{ return(fallback) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(existing) -%}
        {%- do names.append(column.name) -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}
