{#- get_powers_of_two is plain arithmetic; generate_series builds a cross join per power. -#}
-- powers of two for 100: {{ dbt.get_powers_of_two(100) }}
with numbers as (
    {{ dbt.generate_series(12) }}
),

days as (
    {{ dbt.date_spine('day', "'2024-02-25'::date", "'2024-03-03'::date") }}
),

months as (
    {{ dbt.date_spine(datepart='month', start_date="'2023-11-01'::date", end_date="'2024-03-01'::date") }}
)

select 'numbers' as kind, count(*) as n from numbers
union all
select 'days', count(*) from days
union all
select 'months', count(*) from months
