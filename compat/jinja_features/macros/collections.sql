{#- Macros that build lists and dicts by mutating them, and return them to callers. -#}

{% macro metric_columns(metrics, prefix='m_') %}
    {%- set columns = [] -%}
    {%- for metric in metrics -%}
        {%- do columns.append(prefix ~ metric) -%}
    {%- endfor -%}
    {%- do columns.extend([prefix ~ 'total']) -%}
    {%- do columns.insert(0, 'id') -%}
    {{ return(columns) }}
{% endmacro %}

{% macro column_types() %}
    {%- set types = {'id': 'integer', 'label': 'text', 'scratch': 'json'} -%}
    {%- do types.update({'amount': 'numeric(12,2)', 'created_at': 'timestamp'}) -%}
    {%- set dropped = types.pop('scratch') -%}
    {%- do types.setdefault('label', 'varchar') -%}
    {%- do types.setdefault('is_active', 'boolean') -%}
    {{ return(types) }}
{% endmacro %}

{% macro count_kinds(values) %}
    {%- set ns = namespace(numbers=0, words=0, seen=[]) -%}
    {%- for v in values -%}
        {%- if v is number -%}
            {%- set ns.numbers = ns.numbers + 1 -%}
        {%- else -%}
            {%- set ns.words = ns.words + 1 -%}
        {%- endif -%}
        {%- do ns.seen.append(v | string) -%}
    {%- endfor -%}
    {{ return({'numbers': ns.numbers, 'words': ns.words, 'seen': ns.seen}) }}
{% endmacro %}

{% macro last_of(items) %}
    {%- set copy = items[:] -%}
    {%- set last = copy.pop() -%}
    {{ return(last) }}
{% endmacro %}
