{#- Queries the database while compiling; at parse time nothing runs. -#}
{%- if execute -%}
    {%- set result = run_query("select n from generate_series(1, 3) as n order by n") -%}
    {%- set numbers = result.columns[0].values() | list -%}
{%- else -%}
    {%- set numbers = [] -%}
{%- endif -%}

{%- call statement('answer', fetch_result=true) -%}
    select 42 as answer
{%- endcall -%}
{%- set answer = load_result('answer')['data'][0][0] if execute else 0 -%}

select
    {{ answer }} as answer,
    {{ numbers | length }} as number_count
{%- for n in numbers %}
    , {{ n }} as n{{ n }}
{%- endfor %}
