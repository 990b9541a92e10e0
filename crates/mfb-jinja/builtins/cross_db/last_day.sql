{#- The last date of the `datepart` period containing `date`. -#}
{% macro last_day(date, datepart) -%}
  {{ return(adapter.dispatch('last_day', 'dbt')(date, datepart)) }}
{%- endmacro %}

{#- Start of the next period, minus one day. -#}
{% macro default__last_day(date, datepart) -%}
cast(
        {{ dateadd('day', '-1', dateadd(datepart, '1', date_trunc(datepart, date))) }}
        as date)
{%- endmacro %}

{#- PostgreSQL intervals have no quarter unit: a quarter is three months. -#}
{% macro postgres__last_day(date, datepart) -%}
  {%- if datepart == 'quarter' -%}
-- postgres dateadd does not support quarter interval.
    cast(
        {{ dateadd('day', '-1', dateadd('month', '3', date_trunc(datepart, date))) }}
        as date)
  {%- else -%}
    {{ default__last_day(date, datepart) }}
  {%- endif -%}
{%- endmacro %}
