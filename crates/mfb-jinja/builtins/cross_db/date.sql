{#- A date literal from year, month and day numbers. -#}
{% macro date(year, month, day) -%}
  {{ return(adapter.dispatch('date', 'dbt')(year, month, day)) }}
{%- endmacro %}

{% macro default__date(year, month, day) -%}
  {%- set iso = ('0000' ~ year)[-4:] ~ '-' ~ ('00' ~ month)[-2:] ~ '-' ~ ('00' ~ day)[-2:] -%}
to_date('{{ iso }}', 'YYYY-MM-DD')
{%- endmacro %}
