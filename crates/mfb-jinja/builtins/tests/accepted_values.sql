{#- Generic test `accepted_values`: fails with one row per distinct value not in `values`
    (quoted as string literals unless `quote: false`). -#}
{% test accepted_values(model, column_name, values, quote=True) %}
    {{ return(adapter.dispatch('test_accepted_values', 'dbt')(model, column_name, values, quote)) }}
{% endtest %}

{% macro default__test_accepted_values(model, column_name, values, quote=True) %}
{%- set literals = [] -%}
{%- for v in values -%}
  {%- do literals.append("'" ~ v ~ "'" if quote else v) -%}
{%- endfor %}

with all_values as (

    select
        {{ column_name }} as value_field,
        count(*) as n_records

    from {{ model }}
    group by {{ column_name }}

)

select *
from all_values
where value_field not in (
    {{ literals | join(',') }}
)
{% endmacro %}
