{%- set cols = metric_columns(var('metrics')) -%}
{%- set types = column_types() -%}
{%- set kinds = count_kinds([1, 'a', 2.5, 'b', 3]) -%}
{%- do log('collections: ' ~ cols | length ~ ' columns', info=false) -%}

-- columns: {{ cols | join(', ') }}
-- types: {{ types | tojson }}
-- kinds: {{ tojson(kinds) }}
-- last metric: {{ last_of(var('metrics')) }}
-- has amount: {{ 'amount' in types }}, has scratch: {{ 'scratch' in types }}

select
    {%- for name in types.keys() | sort %}
    '{{ name }}'::text as {{ name }}_label{{ ',' if not loop.last }}
    {%- endfor %}
