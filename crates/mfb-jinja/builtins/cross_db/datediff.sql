{#- Number of `datepart` boundaries crossed going from `first_date` to `second_date`. -#}
{% macro datediff(first_date, second_date, datepart) -%}
  {{ return(adapter.dispatch('datediff', 'dbt')(first_date, second_date, datepart)) }}
{%- endmacro %}

{#-
  PostgreSQL has no datediff: count calendar units from date parts. Coarse units are
  built from finer ones (month from year, minute from hour from day), so each level
  wraps the level below.
-#}
{% macro postgres__datediff(first_date, second_date, datepart) -%}
  {%- set a = first_date -%}
  {%- set b = second_date -%}
  {%- if datepart == 'day' -%}
    {%- set sql = "((" ~ b ~ ")::date - (" ~ a ~ ")::date)" -%}
  {%- elif datepart == 'year' -%}
    {%- set sql = "(date_part('year', (" ~ b ~ ")::date) - date_part('year', (" ~ a ~ ")::date))" -%}
  {%- elif datepart in ('quarter', 'month') -%}
    {%- set per_year = 4 if datepart == 'quarter' else 12 -%}
    {%- set sql = "(" ~ datediff(a, b, 'year') ~ " * " ~ per_year
        ~ " + date_part('" ~ datepart ~ "', (" ~ b ~ ")::date) - date_part('" ~ datepart ~ "', (" ~ a ~ ")::date))" -%}
  {%- elif datepart == 'week' -%}
    {%- set sql = "(" ~ datediff(a, b, 'day') ~ " / 7 + case"
        ~ " when date_part('dow', (" ~ a ~ ")::timestamp) <= date_part('dow', (" ~ b ~ ")::timestamp) then"
        ~ " case when " ~ a ~ " <= " ~ b ~ " then 0 else -1 end"
        ~ " else"
        ~ " case when " ~ a ~ " <= " ~ b ~ " then 1 else 0 end"
        ~ " end)" -%}
  {%- elif datepart in ('hour', 'minute') -%}
    {%- set finer = 'day' if datepart == 'hour' else 'hour' -%}
    {%- set factor = 24 if datepart == 'hour' else 60 -%}
    {%- set sql = "(" ~ datediff(a, b, finer) ~ " * " ~ factor
        ~ " + date_part('" ~ datepart ~ "', (" ~ b ~ ")::timestamp) - date_part('" ~ datepart ~ "', (" ~ a ~ ")::timestamp))" -%}
  {%- elif datepart in ('second', 'millisecond', 'microsecond') -%}
    {%- set factor = {'second': 60, 'millisecond': 60000, 'microsecond': 60000000}[datepart] -%}
    {%- set sql = "(" ~ datediff(a, b, 'minute') ~ " * " ~ factor
        ~ " + floor(date_part('" ~ datepart ~ "', (" ~ b ~ ")::timestamp)) - floor(date_part('" ~ datepart ~ "', (" ~ a ~ ")::timestamp)))" -%}
  {%- else -%}
    {%- do exceptions.raise_compiler_error("Unsupported datepart for macro datediff in postgres: '" ~ datepart ~ "'. Use one of year, quarter, month, week, day, hour, minute, second, millisecond, microsecond.") -%}
  {%- endif %}
        {{ sql }}
    {% endmacro %}

{#- Other databases are expected to have datediff(datepart, a, b). -#}
{% macro default__datediff(first_date, second_date, datepart) -%}
    datediff(
        {{ datepart }},
        {{ first_date }},
        {{ second_date }}
        )
{%- endmacro %}
