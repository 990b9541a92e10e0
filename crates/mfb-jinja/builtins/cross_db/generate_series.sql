{#- The integers 1..upper_bound as a query, built by cross-joining {0,1} once per binary digit. -#}

{#- Number of binary digits needed to count up to `upper_bound`. -#}
{% macro get_powers_of_two(upper_bound) -%}
  {{ return(adapter.dispatch('get_powers_of_two', 'dbt')(upper_bound)) }}
{%- endmacro %}

{% macro default__get_powers_of_two(upper_bound) -%}
  {%- if upper_bound <= 0 -%}
    {%- do exceptions.raise_compiler_error("generate_series() needs an upper bound of at least 1, got " ~ upper_bound ~ ".") -%}
  {%- endif -%}
  {%- for n in range(1, 100) -%}
    {%- if upper_bound <= 2 ** n -%}
      {%- do return(n) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- do return(100) -%}
{%- endmacro %}

{% macro generate_series(upper_bound) -%}
  {{ return(adapter.dispatch('generate_series', 'dbt')(upper_bound)) }}
{%- endmacro %}

{% macro default__generate_series(upper_bound) %}
    {%- set digits = get_powers_of_two(upper_bound) %}

    with p as (
        select 0 as generated_number union all select 1
    ), unioned as (

    select
    {% for i in range(digits) %}
    p{{ i }}.generated_number * power(2, {{ i }})
    {{ '+' if not loop.last }}
    {%- endfor %}
    + 1
    as generated_number

    from
    {% for i in range(digits) %}
    p as p{{ i }}
    {{ 'cross join' if not loop.last }}
    {%- endfor %}

    )

    select *
    from unioned
    where generated_number <= {{ upper_bound }}
    order by generated_number

{% endmacro %}
