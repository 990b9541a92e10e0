{#- One row per `datepart` from `start_date` (inclusive) to `end_date` (exclusive), column `date_<datepart>`. -#}

{#- How many `datepart` units lie between two dates; asks the database, so 1 at parse time. -#}
{% macro get_intervals_between(start_date, end_date, datepart) -%}
  {{ return(adapter.dispatch('get_intervals_between', 'dbt')(start_date, end_date, datepart)) }}
{%- endmacro %}

{% macro default__get_intervals_between(start_date, end_date, datepart) -%}
  {%- call statement('get_intervals_between', fetch_result=true) -%}
    select {{ datediff(start_date, end_date, datepart) }}
  {%- endcall -%}
  {%- set result = load_result('get_intervals_between') -%}
  {%- if result and result.table and result.table.rows | length > 0 -%}
    {%- do return(result.table.rows[0][0]) -%}
  {%- endif -%}
  {%- do return(1) -%}
{%- endmacro %}

{% macro date_spine(datepart, start_date, end_date) -%}
  {{ return(adapter.dispatch('date_spine', 'dbt')(datepart, start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_spine(datepart, start_date, end_date) %}

    with rawdata as (

        {{ generate_series(get_intervals_between(start_date, end_date, datepart)) }}

    ),

    all_periods as (

        select (
            {{ dateadd(datepart, 'row_number() over (order by 1) - 1', start_date) }}
        ) as date_{{ datepart }}
        from rawdata

    ),

    filtered as (

        select *
        from all_periods
        where date_{{ datepart }} <= {{ end_date }}

    )

    select * from filtered

{% endmacro %}
